from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)

from lms.core.forms import length, number_range, optional, required
from lms.programs.labels import (
    BRIEFING_LABELS,
    CATEGORY_LABELS,
    DELIVERY_LABELS,
    MEANING_LABELS,
    TOPIC_KIND_LABELS,
)

LANGS = (("en", _l("English")), ("lv", _l("Latvian")), ("ru", _l("Russian")))


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ProgramMetaForm(FlaskForm):
    """Program settings and the signed details of a draft version."""

    code = StringField(_l("Code"), validators=[required(), length(40)])
    category = SelectField(_l("Category"), choices=list(CATEGORY_LABELS.items()))
    head_id = SelectField(_l("Program head"), coerce=int, choices=[])
    title_en = StringField(_l("Title in English"), validators=[optional(), length(300)])
    title_lv = StringField(_l("Title in Latvian"), validators=[optional(), length(300)])
    title_ru = StringField(_l("Title in Russian"), validators=[optional(), length(300)])
    description_en = TextAreaField(
        _l("Description in English"), validators=[optional(), length(4000)]
    )
    description_lv = TextAreaField(
        _l("Description in Latvian"), validators=[optional(), length(4000)]
    )
    description_ru = TextAreaField(
        _l("Description in Russian"), validators=[optional(), length(4000)]
    )
    briefing_type = SelectField(_l("Briefing type"), choices=list(BRIEFING_LABELS.items()))
    delivery_mode = SelectField(_l("Delivery mode"), choices=list(DELIVERY_LABELS.items()))
    refresher_months = IntegerField(
        _l("Refresher interval (months)"), validators=[optional(), number_range(1, 120)]
    )
    certificate_validity_months = IntegerField(
        _l("Certificate validity (months)"), validators=[optional(), number_range(1, 240)]
    )
    cascade_levels = IntegerField(
        _l("Cascade levels below the instructor"),
        default=1,
        validators=[optional(), number_range(1, 5)],
    )
    audience_departments = CheckboxesField(_l("Departments"), choices=[])
    audience_job_titles = StringField(
        _l("Job titles (separated by commas)"), validators=[optional(), length(1000)]
    )
    languages = CheckboxesField(_l("Content languages"), choices=list(LANGS))
    submit = SubmitField(_l("Save"))


class TopicForm(FlaskForm):
    title_en = StringField(_l("Title in English"), validators=[optional(), length(300)])
    title_lv = StringField(_l("Title in Latvian"), validators=[optional(), length(300)])
    title_ru = StringField(_l("Title in Russian"), validators=[optional(), length(300)])
    body_en = TextAreaField(
        _l("Text in English (Markdown)"), validators=[optional(), length(100_000)]
    )
    body_lv = TextAreaField(
        _l("Text in Latvian (Markdown)"), validators=[optional(), length(100_000)]
    )
    body_ru = TextAreaField(
        _l("Text in Russian (Markdown)"), validators=[optional(), length(100_000)]
    )
    minutes = IntegerField(_l("Allotted minutes"), validators=[required(), number_range(1, 600)])
    kind = SelectField(_l("Kind"), choices=list(TOPIC_KIND_LABELS.items()))
    attachment = FileField(_l("Attachment (PDF, PNG or JPEG, at most 5 MB)"))
    submit = SubmitField(_l("Save topic"))


class SignForm(FlaskForm):
    meaning = RadioField(
        _l("Meaning of your signature"),
        choices=list(MEANING_LABELS.items()),
        validators=[required()],
    )
    comment = TextAreaField(
        _l("Comment (required when rejecting)"), validators=[optional(), length(2000)]
    )
    needs_rebriefing = BooleanField(
        _l("The instruction was amended: holders of earlier versions need re-briefing")
    )
    # fingerprints of the effects the page showed, without and with re-briefing
    effects_plain = HiddenField()
    effects_rebrief = HiddenField()
    password = PasswordField(_l("Your password, to confirm it is you"), validators=[required()])
    submit = SubmitField(_l("Sign"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))
