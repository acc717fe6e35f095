"""Human names for the registers' vocabularies, translated."""

from flask_babel import lazy_gettext as _l

INCIDENT_KIND_LABELS = {
    "accident": _l("Accident at work"),
    "fire": _l("Fire at the object"),
    "rule_breach": _l("Breach of the fire rules"),
}
