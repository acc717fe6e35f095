from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField

from lms.core.forms import length, number_range, optional, required
from lms.support.labels import CATEGORY_LABELS, LINE_LABELS, PRIORITY_LABELS
from lms.support.models import MAX_ATTACHMENT, PRIORITIES


def _file_kw() -> dict:
    return {
        "accept": "application/pdf,image/png,image/jpeg",
        "data-max-bytes": MAX_ATTACHMENT,
        "data-too-large": _l(
            "This file is larger than 5 MB and was taken off. Choose a smaller one."
        ),
    }


def _category_choices() -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in CATEGORY_LABELS.items()]


class RaiseForm(FlaskForm):
    page = HiddenField()
    subject = StringField(
        _l("In a few words, what is wrong?"), validators=[required(), length(200)]
    )
    category = SelectField(_l("What is it about?"), choices=[])
    description = TextAreaField(
        _l("Describe the problem: what you did, what you expected, what happened"),
        validators=[required(), length(10000)],
    )
    attachment = FileField(
        _l("Screenshot or document (optional: PDF, PNG or JPEG, at most 5 MB)"),
        render_kw=_file_kw(),
    )
    submit = SubmitField(_l("Send to support"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices()


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[required(), length(10000)])
    attachment = FileField(
        _l("Attach a file (optional: PDF, PNG or JPEG, at most 5 MB)"), render_kw=_file_kw()
    )
    submit = SubmitField(_l("Send reply"))


class EscalateForm(FlaskForm):
    reason = TextAreaField(_l("Why it needs the next line"), validators=[required(), length(2000)])
    submit = SubmitField(_l("Pass on"))


class TriageForm(FlaskForm):
    category = SelectField(_l("Category"), choices=[])
    priority = SelectField(_l("Priority"), choices=[])
    submit = SubmitField(_l("Save category and priority"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices()
        self.priority.choices = [(k, str(v)) for k, v in PRIORITY_LABELS.items()]


class CloseForm(FlaskForm):
    note = TextAreaField(_l("Closing note"), validators=[optional(), length(2000)])
    submit = SubmitField(_l("Close the request"))


class AgentForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    line = SelectField(_l("Line"), coerce=int, choices=[(1, LINE_LABELS[1]), (2, LINE_LABELS[2])])
    submit = SubmitField(_l("Appoint"))


class EndAgentForm(FlaskForm):
    submit = SubmitField(_l("End appointment"))


class AnswerTimesForm(FlaskForm):
    submit = SubmitField(_l("Save answer times"))


def _add_hours_fields() -> None:
    for priority in PRIORITIES:
        setattr(
            AnswerTimesForm,
            f"hours_{priority}",
            IntegerField(
                PRIORITY_LABELS[priority],
                validators=[required(), number_range(1, 720)],
            ),
        )


_add_hours_fields()
