from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import InputRequired


class CountersignForm(FlaskForm):
    password = PasswordField(
        _l("Your password, to confirm it is you"), validators=[InputRequired()]
    )
    submit = SubmitField(_l("Countersign"))
