"""Human names for learning states, translated."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "passed": _l("Passed"),
    "due": _l("Due"),
    "overdue": _l("Overdue"),
}
STATUS_BADGES = {
    "not_started": "",
    "in_progress": "info",
    "passed": "ok",
    "due": "warn",
    "overdue": "bad",
}
ATTEMPT_STATE_LABELS = {
    "open": _l("In progress"),
    "submitted": _l("Submitted"),
    "expired": _l("Time ran out"),
}
