"""Translated names of categories, priorities, statuses, lines and history steps."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "access": _l("Signing in and access"),
    "training": _l("Courses and training"),
    "quiz": _l("Quizzes and exams"),
    "sessions": _l("Briefings and sessions"),
    "certificates": _l("Certificates"),
    "records": _l("Records and reports"),
    "other": _l("Something else"),
}
PRIORITY_LABELS = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}
STATUS_LABELS = {
    "open": _l("Waiting for support"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
}
LINE_LABELS = {
    1: _l("First line"),
    2: _l("Second line"),
    3: _l("Administrators"),
}
EVENT_LABELS = {
    "raised": _l("Raised"),
    "reply": _l("Reply"),
    "escalated": _l("Escalated"),
    "triaged": _l("Category or priority changed"),
    "closed": _l("Closed"),
}
# Whole sentences per line (a line's name changes its form inside a sentence in lv and ru).
WITH_LINE = {
    1: _l("This help request is with first-line support."),
    2: _l("This help request is with second-line support."),
    3: _l("This help request is with the system administrators."),
}
PASS_TO = {
    2: _l("Pass on to second-line support"),
    3: _l("Pass on to the system administrators"),
}
PASSED_TO = {
    2: _l("Your help request was passed on to second-line support."),
    3: _l("Your help request was passed on to the system administrators."),
}
YOU_WORK = {
    1: _l("You work in first-line support."),
    2: _l("You work in second-line support."),
    3: _l("You are an administrator: the last line of support."),
}
APPOINTED = {
    1: _l("%(name)s now works in first-line support."),
    2: _l("%(name)s now works in second-line support."),
}
ARRIVED = {
    1: _l("A new help request waits for first-line support."),
    2: _l("A help request was passed on to second-line support."),
    3: _l("A help request was passed on to the system administrators."),
}
