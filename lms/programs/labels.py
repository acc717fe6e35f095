"""Human names for the program vocabularies, translated (regulatory names in lv and ru)."""

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "fire": _l("Fire safety"),
    "workplace": _l("Workplace safety"),
    "technical": _l("Technical"),
}
BRIEFING_LABELS = {
    "introductory": _l("Introductory briefing"),
    "initial": _l("Initial briefing at the workplace"),
    "repeated": _l("Repeated briefing"),
    "unscheduled": _l("Unscheduled briefing"),
    "targeted": _l("Targeted briefing"),
    "fire_minimum": _l("Fire-technical minimum for responsible persons"),
}
DELIVERY_LABELS = {
    "instructor_led": _l("Instructor-led session"),
    "self_paced": _l("Self-paced course"),
    "cascade": _l("Cascade (train the trainers)"),
}
TOPIC_KIND_LABELS = {
    "lesson": _l("Lesson"),
    "seminar": _l("Seminar"),
    "practice": _l("Practice"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Awaiting signature"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}
MEANING_LABELS = {
    "approved": _l("Approved: I approve this program version for use"),
    "reviewed": _l("Reviewed: I have reviewed this program version"),
    "rejected": _l("Rejected: this version must be changed"),
}
QUESTION_TYPE_LABELS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "true_false": _l("True or false"),
}
