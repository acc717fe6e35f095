from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from lms.core.forms import length, optional, required


class CountersignForm(FlaskForm):
    password = PasswordField(
        _l("Your password, to confirm it is you"), validators=[InputRequired()]
    )
    submit = SubmitField(_l("Countersign"))


class IncidentForm(FlaskForm):
    occurred_on = DateField(_l("Date"), validators=[required()])
    department_id = SelectField(_l("Unit"), coerce=int, choices=[])
    kind = SelectField(_l("What happened"), choices=[])
    note = TextAreaField(_l("Note"), validators=[optional(), length(1000)])
    submit = SubmitField(_l("Record the incident"))


class NewRulesForm(FlaskForm):
    regime = SelectField(_l("Regime"), choices=[])
    program_id = SelectField(_l("Program (or every program of the regime)"), coerce=int, choices=[])
    in_force_on = DateField(_l("In force from"), validators=[required()])
    note = StringField(_l("The new rules (act, number)"), validators=[required(), length(500)])
    submit = SubmitField(_l("Make the unscheduled briefing due"))


class AbsenceForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    starts_on = DateField(_l("From"), validators=[required()])
    ends_on = DateField(_l("To (the last day away)"), validators=[optional()])
    kind = SelectField(_l("Kind"), choices=[])
    submit = SubmitField(_l("Record the absence"))


class RegimesForm(FlaskForm):
    codes = SelectMultipleField(_l("Regimes the organisation works under"), choices=[])
    submit = SubmitField(_l("Save"))
