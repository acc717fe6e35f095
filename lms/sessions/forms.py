from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from lms.core.forms import length, number_range, optional, required
from lms.core.i18n import LANGUAGE_NAMES
from lms.sessions.labels import (
    ATTENDANCE_LABELS,
    EVENT_TRIGGER_LABELS,
    EVENT_TYPE_LABELS,
    REPEAT_LABELS,
)
from lms.sessions.models import MAX_CAPACITY

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class _SessionFields(FlaskForm):
    instructor_id = SelectField(_l("Instructor"), coerce=int, choices=[])
    starts_at = DateTimeLocalField(
        _l("Starts (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    ends_at = DateTimeLocalField(
        _l("Ends (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    place = StringField(_l("Place"), validators=[required(), length(200)])
    capacity = IntegerField(
        _l("Capacity (places)"), validators=[required(), number_range(1, MAX_CAPACITY)]
    )
    notes = TextAreaField(_l("Notes for attendees"), validators=[optional(), length(4000)])
    open_signup = BooleanField(_l("Employees may sign themselves up"), default=True)
    # checked by the service against the program's regimes (a post without them: unchanged)
    briefing_type = SelectField(
        _l("Type of briefing"),
        choices=list(EVENT_TYPE_LABELS.items()),
        default="",
        validate_choice=False,
    )
    briefing_trigger = SelectField(
        _l("What made it necessary (unscheduled or targeted)"),
        choices=list(EVENT_TRIGGER_LABELS.items()),
        default="",
        validate_choice=False,
    )
    briefing_reason = TextAreaField(
        _l("Reason (unscheduled or targeted)"), validators=[optional(), length(1000)]
    )
    permit = StringField(
        _l("Permit or task (targeted briefing)"), validators=[optional(), length(200)]
    )


class SessionForm(_SessionFields):
    """A new session, or a series of them."""

    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    department_id = SelectField(_l("Held for department"), coerce=int, choices=[])
    repeat = SelectField(_l("Repeat"), choices=list(REPEAT_LABELS.items()), default="none")
    count = IntegerField(_l("Number of sessions"), validators=[optional(), number_range(1, 52)])
    until = DateField(_l("Or until (date of the last session)"), validators=[optional()])
    submit = SubmitField(_l("Schedule"))


class EditSessionForm(_SessionFields):
    submit = SubmitField(_l("Save changes"))


class InvitePersonForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    submit = SubmitField(_l("Invite"))


class InviteDepartmentForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    include_sub = BooleanField(_l("Include sub-departments"), default=True)
    submit = SubmitField(_l("Invite the department"))


class WalkInForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    status = SelectField(
        _l("Attendance"), choices=list(ATTENDANCE_LABELS.items()), default="present"
    )
    submit = SubmitField(_l("Add walk-in"))


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (sent to everyone enrolled)"), validators=[required(), length(500)]
    )
    submit = SubmitField(_l("Cancel the session"))


class SignForm(FlaskForm):
    password = PasswordField(_l("Your password, to confirm it is you"), validators=[required()])
    submit = SubmitField(_l("Sign as conducted"))


class SheetAckForm(FlaskForm):
    method = RadioField(
        _l("Confirm with"),
        choices=[("password", _l("Own password")), ("pin", _l("Personal PIN"))],
        default="password",
        validators=[required()],
    )
    secret = PasswordField(
        _l("Password or PIN"),
        validators=[required(), length(200)],
        render_kw={"autocomplete": "off"},  # a shared device must not remember it
    )
    submit = SubmitField(_l("I received this briefing"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


JOURNAL_LANGS = (
    ("", _l("Current language")),
    *LANGUAGE_NAMES.items(),
    ("bilingual", _l("Latvian and English headings")),
)


class JournalForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[optional()])
    date_to = DateField(_l("To"), validators=[optional()])
    department_id = SelectField(_l("Department"), coerce=int, choices=[], default=0)
    program_id = SelectField(_l("Program"), coerce=int, choices=[], default=0)
    lang = SelectField(_l("Language of the export"), choices=list(JOURNAL_LANGS), default="")
