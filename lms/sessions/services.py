"""The rules for scheduled briefings, by what they concern:

- `access`: who may run a session, the loaders that check it, messages to people;
- `scheduling`: one-off and repeating sessions, changes, cancellation;
- `enrolment`: sign-up, invitations, nominations, the waitlist;
- `attendance`: attendance marks, walk-ins, acknowledgments;
- `signing`: the conduct signature, and what a held session reports to completions;
- `lapses`: upcoming sessions of a trainer who lost the right to teach;
- `records`: the hashes of those signed records and their ledger resolvers.

This module gathers their public names for callers that want "the sessions services".
"""

from __future__ import annotations

from lms.sessions.access import (
    attendance_open,
    can_manage_session,
    get_session,
    managed_session,
    outside_unit_reason,
    own_enrolment,
    session_enrolment,
    unit_ids,
    visible_session,
)
from lms.sessions.attendance import (
    TooManyAttempts,
    acknowledge,
    add_walk_in,
    mark_attendance,
)
from lms.sessions.enrolment import (
    InviteResult,
    cancel_enrolment,
    due_people,
    invite,
    invite_department,
    invite_due,
    invite_person,
    next_open_session,
    nominate,
    open_sessions_for,
    sign_up,
)
from lms.sessions.lapses import instructor_problem
from lms.sessions.records import (
    ACK_KIND,
    ATTENDANCE_KIND,
    SIGNATURE_KIND,
    _resolve_signatures,
    ack_content_hash,
    ack_hash,
    attendance_content,
    mark_hash,
    signature_hash,
)
from lms.sessions.scheduling import (
    BriefingEvent,
    allowed_types,
    allowed_types_of,
    cancel_session,
    occurrences,
    schedule,
    update_session,
)
from lms.sessions.signing import (
    attendance_outcome,
    held_attendance,
    next_enrolment,
    next_enrolments,
    session_attendance,
    sign_conducted,
    signature_state,
)

__all__ = [
    "BriefingEvent",
    "allowed_types",
    "allowed_types_of",
    "attendance_outcome",
    "instructor_problem",
    "attendance_open",
    "outside_unit_reason",
    "unit_ids",
    "ACK_KIND",
    "ATTENDANCE_KIND",
    "InviteResult",
    "SIGNATURE_KIND",
    "TooManyAttempts",
    "_resolve_signatures",
    "ack_content_hash",
    "ack_hash",
    "acknowledge",
    "add_walk_in",
    "attendance_content",
    "can_manage_session",
    "cancel_enrolment",
    "cancel_session",
    "due_people",
    "get_session",
    "held_attendance",
    "invite",
    "invite_department",
    "invite_due",
    "invite_person",
    "managed_session",
    "mark_attendance",
    "mark_hash",
    "next_enrolment",
    "next_enrolments",
    "next_open_session",
    "open_sessions_for",
    "nominate",
    "occurrences",
    "own_enrolment",
    "schedule",
    "session_attendance",
    "session_enrolment",
    "sign_conducted",
    "sign_up",
    "signature_hash",
    "signature_state",
    "update_session",
    "visible_session",
]
