"""Human names for the session vocabularies, translated."""

import re

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from lms.core import texts

# the briefing type an event carries (the register prints the regime's legal name)
EVENT_TYPE_LABELS = {
    "": _l("As the program says"),
    "introductory": _l("Introductory"),
    "initial": _l("Initial (at the workplace)"),
    "repeated": _l("Repeated"),
    "unscheduled": _l("Unscheduled"),
    "targeted": _l("Targeted"),
    "thematic": _l("Thematic training"),
}
EVENT_TRIGGER_LABELS = {
    "": _l("Not applicable"),
    "break": _l("Return after a break"),
    "transfer": _l("Transfer to another job or unit"),
    "instruction_amended": _l("Instruction amended"),
    "accident": _l("Accident at work"),
    "fire": _l("Fire at the object"),
    "rule_breach": _l("Breach of the rules"),
    "new_rules": _l("New rules in force"),
    "knowledge_check_failed": _l("Failed knowledge check"),
    "task": _l("A task or permit work"),
    "other": _l("Other"),
}

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
    "failed": _l("Knowledge check failed"),
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
