from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from lms.core.errors import DomainError
from lms.core.forms import length, number_range, optional, required
from lms.exams.labels import (
    ACCESS_ROLE_LABELS,
    APPOINTMENT_LABELS,
    AREA_LABELS,
    PHASE_LABELS,
    TEST_KIND_LABELS,
)
from lms.exams.models import MAX_WORKSTATIONS

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class PointForm(FlaskForm):
    name = StringField(_l("Name"), validators=[required(), length(200)])
    room = StringField(_l("Room"), validators=[required(), length(200)])
    workstations = IntegerField(
        _l("Workstations"), validators=[required(), number_range(0, MAX_WORKSTATIONS)]
    )
    submit = SubmitField(_l("Add exam point"))


class ItemForm(FlaskForm):
    phase = SelectField(_l("When"), choices=list(PHASE_LABELS.items()))
    label = StringField(_l("Checklist item"), validators=[required(), length(300)])
    software_check = BooleanField(_l("This is the software check (due before the start)"))
    asks_where = BooleanField(_l("The technician must say where (e.g. where recordings went)"))
    submit = SubmitField(_l("Add item"))


class ExamForm(FlaskForm):
    point_id = SelectField(_l("Exam point"), coerce=int, choices=[])
    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    test_kind = SelectField(_l("Test"), choices=list(TEST_KIND_LABELS.items()))
    paper_title = StringField(
        _l("Exam paper (when the test is a paper)"), validators=[optional(), length(300)]
    )
    starts_at = DateTimeLocalField(
        _l("Starts (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    ends_at = DateTimeLocalField(
        _l("Ends (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    submit = SubmitField(_l("Plan the exam"))


class AppointForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    role = SelectField(_l("Appointment"), choices=list(APPOINTMENT_LABELS.items()))
    submit = SubmitField(_l("Appoint"))


class CandidateForm(FlaskForm):
    user_id = SelectField(_l("Candidate"), coerce=int, choices=[])
    submit = SubmitField(_l("Add candidate"))


class TickForm(FlaskForm):
    item_id = HiddenField(validators=[required()])
    note = StringField(_l("Note"), validators=[optional(), length(500)])
    submit = SubmitField(_l("Tick"))


class OpenForm(FlaskForm):
    override_reason = TextAreaField(
        _l("Reason for opening despite the warning"), validators=[optional(), length(1000)]
    )
    submit = SubmitField(_l("Open the exam"))


class AccessForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, choices=[])
    person_name = StringField(
        _l("Name (someone without an account)"), validators=[optional(), length(200)]
    )
    role = SelectField(_l("Role"), choices=list(ACCESS_ROLE_LABELS.items()))
    area = SelectField(_l("Where"), choices=list(AREA_LABELS.items()))
    time_in = DateTimeLocalField(
        _l("Time in (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    time_out = DateTimeLocalField(
        _l("Time out (local time)"), format=LOCAL_FORMAT, validators=[optional()]
    )
    reason = StringField(_l("Reason"), validators=[required(), length(500)])
    submit = SubmitField(_l("Record the entry"))


class ExitForm(FlaskForm):
    time_out = DateTimeLocalField(
        _l("Time out (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    submit = SubmitField(_l("Record the exit"))


class CorrectForm(FlaskForm):
    time_in = DateTimeLocalField(
        _l("Time in (local time)"), format=LOCAL_FORMAT, validators=[required()]
    )
    time_out = DateTimeLocalField(
        _l("Time out (local time)"), format=LOCAL_FORMAT, validators=[optional()]
    )
    reason = StringField(_l("Reason"), validators=[optional(), length(500)])
    correction = StringField(_l("Why the line is corrected"), validators=[required(), length(500)])
    submit = SubmitField(_l("Record the correction"))


class SignForm(FlaskForm):
    password = PasswordField(_l("Your password, to confirm it is you"), validators=[required()])
    submit = SubmitField(_l("Sign the protocol"))


def parse_results(data: Any, user_ids: list[int]) -> dict[int, tuple[int | None, bool]]:
    """{user id: (score, passed)} from the results table (score-<id>, outcome-<id>)."""
    out: dict[int, tuple[int | None, bool]] = {}
    for uid in user_ids:
        outcome = data.get(f"outcome-{uid}", "")
        raw = (data.get(f"score-{uid}") or "").strip()
        if outcome not in ("passed", "failed"):
            if raw:
                raise DomainError(_("Choose passed or failed for every candidate with a score."))
            continue
        score: int | None = None
        if raw:
            if not raw.isdigit() or int(raw) > 100:
                raise DomainError(_("A score is between 0 and 100."), field="score")
            score = int(raw)
        out[uid] = (score, outcome == "passed")
    return out
