from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, StringField, SubmitField, TextAreaField

from lms.core.forms import length, optional, required

TEMPLATE_NAMES = {"classic": _l("Classic (framed)"), "compact": _l("Compact")}


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the revocation"), validators=[required(), length(1000)])
    password = PasswordField(
        _l("Your password (signs the revocation)"), validators=[required(), length(200)]
    )
    submit = SubmitField(_l("Revoke the certificate"))


class VerifyForm(FlaskForm):
    code = StringField(_l("Verification code"), validators=[optional(), length(40)])
    file = FileField(
        _l("Or a file we issued: a certificate, a register PDF or an evidence pack (ZIP)")
    )
    submit = SubmitField(_l("Check"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Save"))
