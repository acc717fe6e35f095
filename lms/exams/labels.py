"""Human names for the exam vocabularies, translated."""

from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "planned": _l("Planned"),
    "open": _l("Open"),
    "closed": _l("Closed"),
}
PHASE_LABELS = {
    "pre": _l("Before the exam"),
    "post": _l("After the exam"),
}
TEST_KIND_LABELS = {
    "quiz": _l("The program's quiz"),
    "paper": _l("An exam paper"),
}
APPOINTMENT_LABELS = {
    "chair": _l("Chair of the commission"),
    "member": _l("Commission member"),
    "technician": _l("Technician"),
}
ACCESS_ROLE_LABELS = {
    "candidate": _l("Candidate"),
    "chair": _l("Chair of the commission"),
    "member": _l("Commission member"),
    "technician": _l("Technician"),
    "invigilator": _l("Invigilator"),
    "visitor": _l("Visitor"),
}
AREA_LABELS = {
    "room": _l("Exam room"),
    "system": _l("Exam system"),
}
ADMISSION_LABELS = {
    "admitted": _l("Admitted"),
    "not_admitted": _l("Not admitted"),
}
SOFTWARE_LABELS = {
    "ok": _l("Checked in time"),
    "pending": _l("Not checked yet; still in time"),
    "late": _l("Checked too late"),
    "missing": _l("Not checked, and the time for it has passed"),
    "no_item": _l("This exam point's checklist has no software check"),
}
