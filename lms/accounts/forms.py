from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)

from lms.core.forms import email, length, optional, required

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "instructor": _l("Instructor"),
    "manager": _l("Manager"),
    "employee": _l("Employee"),
    "auditor": _l("Auditor"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[required(), length(254)])
    password = PasswordField(_l("Password"), validators=[required()])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[required()])
    password = PasswordField(_l("New password"), validators=[required(), length(200, 10)])
    submit = SubmitField(_l("Change password"))


class PinForm(FlaskForm):
    pin = PasswordField(_l("Personal PIN (4 to 8 digits)"), validators=[required(), length(8, 4)])
    submit = SubmitField(_l("Save PIN"))


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[])
    submit = SubmitField(_l("Save"))


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[])
    next = HiddenField()
    submit = SubmitField(_l("Change"))


class UserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[required(), length(200)])
    email = EmailField(_l("E-mail"), validators=[required(), email(), length(254)])
    job_title = StringField(_l("Job title"), validators=[optional(), length(200)])
    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    start_date = DateField(_l("Start date"), validators=[optional()])
    roles = MultiCheckboxField(
        _l("Roles"), choices=list(ROLE_LABELS.items()), validators=[required()]
    )
    password = PasswordField(
        _l("Initial password (at least 10 characters)"), validators=[optional(), length(200, 10)]
    )
    submit = SubmitField(_l("Save"))


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required(), length(200)])
    code = StringField(_l("Code"), validators=[required(), length(40)])
    parent_id = SelectField(_l("Parent department"), coerce=int, choices=[])
    manager_id = SelectField(_l("Manager"), coerce=int, choices=[])
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """An empty form for POST buttons: carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))
