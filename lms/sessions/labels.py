"""Human names for the session vocabularies, translated."""

import re

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from lms.core import texts

SESSION_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "held": _l("Held"),
    "cancelled": _l("Cancelled"),
}
ENROLMENT_STATUS_LABELS = {
    "enrolled": _l("Enrolled"),
    "waitlisted": _l("On the waitlist"),
    "cancelled": _l("Cancelled"),
}
SOURCE_LABELS = {
    "invited": _l("Invited"),
    "self": _l("Signed up"),
    "walk_in": _l("Walk-in"),
}
ATTENDANCE_LABELS = {
    "present": _l("Present"),
    "absent": _l("Absent"),
    "excused": _l("Excused"),
    "late": _l("Late"),
}
ACK_METHOD_LABELS = {
    "account": _l("on own account"),
    "password": _l("with own password on the instructor's device"),
    "pin": _l("with personal PIN on the instructor's device"),
}
SIGNATURE_MEANING_LABELS = {
    "conducted": _l("Conducted: I conducted this briefing with the attendance shown"),
}
SHORT_MEANING_LABELS = {
    "conducted": _l("conducted"),
}
REPEAT_LABELS = {
    "none": _l("Does not repeat"),
    "weekly": _l("Every week on the same weekday"),
    "monthly_weekday": _l("Every month on the same weekday position (e.g. first Monday)"),
    "monthly_day": _l("Every month on the same day"),
}


def _attendance_marked(name: str = "", status: str = "") -> str:
    label = ATTENDANCE_LABELS.get(status)
    return gettext("%(name)s: %(status)s", name=name, status=str(label) if label else status)


texts.register(
    "sessions.attendance_marked",
    _attendance_marked,
    re.compile(r"^(?P<name>.+): (?P<status>" + "|".join(ATTENDANCE_LABELS) + r")$"),
)
