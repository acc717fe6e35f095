from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, StringField, SubmitField

from lms.accounts.forms import MultiCheckboxField
from lms.core.forms import length, required

SCOPE_LABELS = {
    "people:read": _l("Read people, departments and absences"),
    "people:write": _l("HR sync: create and update people, departments and absences"),
    "training:read": _l("Read programs, status, completions, certificates and sessions"),
    "sessions:write": _l("Enrol people in sessions"),
}


class HrUploadForm(FlaskForm):
    file = FileField(_l("HR file (CSV or XLSX)"), validators=[FileRequired()])
    submit = SubmitField(_l("Check the file"))


class TokenForm(FlaskForm):
    name = StringField(_l("Name (which system uses it)"), validators=[required(), length(100)])
    email = EmailField(_l("Acts as (e-mail of the person)"), validators=[required(), length(254)])
    scopes = MultiCheckboxField(_l("Scopes"), choices=list(SCOPE_LABELS.items()))
    submit = SubmitField(_l("Create the token"))
