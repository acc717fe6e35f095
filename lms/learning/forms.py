from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from lms.core.forms import length, number_range, optional, required
from lms.learning.questions import REGISTRY
from lms.programs.quiz import MAX_ANSWERS

ANSWER_ROWS = 6


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token (buttons, and the quiz whose fields are dynamic)."""

    submit = SubmitField(_l("Confirm"))


class QuizSettingsForm(FlaskForm):
    pass_mark = IntegerField(
        _l("Pass mark (percent)"), validators=[required(), number_range(1, 100)]
    )
    questions_per_attempt = IntegerField(
        _l("Questions drawn per attempt"), validators=[required(), number_range(1, 1000)]
    )
    max_attempts = IntegerField(
        _l("Attempts allowed"), validators=[required(), number_range(1, 100)]
    )
    wait_minutes = IntegerField(
        _l("Wait between attempts (minutes)"), validators=[optional(), number_range(0, 100_000)]
    )
    time_limit_minutes = IntegerField(
        _l("Time limit (minutes)"), validators=[optional(), number_range(1, 600)]
    )
    show_answers = BooleanField(_l("Show learners which answers were wrong after submitting"))
    submit = SubmitField(_l("Save quiz settings"))


class AnswerForm(Form):
    id = HiddenField()
    text_en = StringField(_l("Answer in English"), validators=[optional(), length(1000)])
    text_lv = StringField(_l("Answer in Latvian"), validators=[optional(), length(1000)])
    text_ru = StringField(_l("Answer in Russian"), validators=[optional(), length(1000)])
    correct = BooleanField(_l("This answer is correct"))


class QuestionForm(FlaskForm):
    key = StringField(_l("Key"), validators=[required(), length(40)])
    type = SelectField(
        _l("Question type"), choices=[(name, t.label) for name, t in REGISTRY.items()]
    )
    text_en = TextAreaField(_l("Question in English"), validators=[optional(), length(2000)])
    text_lv = TextAreaField(_l("Question in Latvian"), validators=[optional(), length(2000)])
    text_ru = TextAreaField(_l("Question in Russian"), validators=[optional(), length(2000)])
    answers = FieldList(
        FormField(AnswerForm), _l("Answers"), min_entries=ANSWER_ROWS, max_entries=MAX_ANSWERS
    )
    submit = SubmitField(_l("Save question"))


class GrantForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[optional(), length(500)])
    submit = SubmitField(_l("Allow a new round of attempts"))
