from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField

from lms.core.forms import length, number_range, optional, required


class RequirementForm(FlaskForm):
    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    department_id = SelectField(
        _l("Department (and the departments below it)"), coerce=int, choices=[]
    )
    job_title = StringField(
        _l("Job title (empty: every job title)"), validators=[optional(), length(200)]
    )
    interval_months = IntegerField(
        _l("Own refresher interval in months (empty: the program's)"),
        validators=[optional(), number_range(1, 120)],
    )
    submit = SubmitField(_l("Add requirement"))


class UnscheduledForm(FlaskForm):
    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    reason = TextAreaField(
        _l("Reason (e.g. new equipment, an accident, a changed instruction)"),
        validators=[required(), length(1000)],
    )
    due_on = DateField(_l("Due by"), validators=[required()])
    submit = SubmitField(_l("Require the unscheduled briefing"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))
