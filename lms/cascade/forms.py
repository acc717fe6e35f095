from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, SubmitField

from lms.core.forms import number_range, optional, required


class DesignationForm(FlaskForm):
    user_id = SelectField(_l("Responsible person"), coerce=int, choices=[])
    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    program_id = SelectField(
        _l("Program (or leave empty and choose a category)"), coerce=int, choices=[]
    )
    category = SelectField(_l("Program category"), choices=[])
    level = IntegerField(
        _l("Cascade level this person teaches"),
        default=1,
        validators=[required(), number_range(1, 5)],
    )
    starts_on = DateField(_l("From"), validators=[required()])
    ends_on = DateField(_l("Until (optional)"), validators=[optional()])
    submit = SubmitField(_l("Designate"))


class EndForm(FlaskForm):
    ends_on = DateField(_l("Last day"), validators=[required()])
    submit = SubmitField(_l("End designation"))
