"""Validators with translated messages, and small form helpers shared by all domains."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Form, validators

from lms.core.http import DB_INT_MAX


def required() -> validators.InputRequired:
    return validators.InputRequired(message=_l("This field is required."))


def optional() -> validators.Optional:
    return validators.Optional()


def email() -> validators.Regexp:
    # A plain shape check: company addresses on intranet domains must pass.
    return validators.Regexp(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address.")
    )


def length(most: int, least: int = -1) -> validators.Length:
    if least > 0:
        message = _l("Enter between %(min)d and %(max)d characters.", min=least, max=most)
    else:
        message = _l("Enter at most %(max)d characters.", max=most)
    return validators.Length(min=least, max=most, message=message)


def number_range(min: int | None = None, max: int | None = None) -> validators.NumberRange:
    return validators.NumberRange(
        min=min, max=max, message=_l("Enter a number in the allowed range.")
    )


def an_id() -> Any:
    """A row id from a form: a whole number the database can hold (else a field error)."""
    return number_range(min=1, max=DB_INT_MAX)


def apply_domain_error(form: Form, error: Any) -> bool:
    """Attach a DomainError to the field it names; True when a field took it."""
    field = getattr(error, "field", None)
    if field and field in form._fields:
        form._fields[field].errors = [*form._fields[field].errors, error.message]
        return True
    return False
