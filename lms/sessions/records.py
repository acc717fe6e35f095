"""The signed records of a session and their hashes: attendance marks, acknowledgments and
conduct signatures, the canonical content a signature covers, and the ledger resolvers that
recompute them for `flask lms verify`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lms.core import ledger
from lms.programs.models import Program, ProgramVersion
from lms.sessions.models import (
    Acknowledgment,
    AttendanceMark,
    SessionSignature,
    TrainingSession,
)

ATTENDANCE_KIND = "attendance"
ACK_KIND = "acknowledgment"
SIGNATURE_KIND = "session_signature"


# The fields each hash covers, in order. The object-based hashes below read these fields and
# call the row-based ones that verification uses, so the two can never drift apart.
MARK_FIELDS = (
    "id",
    "session_id",
    "enrolment_id",
    "user_id",
    "status",
    "recorded_by_id",
    "recorded_at",
    "supersedes_id",
    "note",
)
ACK_FIELDS = (
    "id",
    "session_id",
    "enrolment_id",
    "user_id",
    "method",
    "meaning",
    "printed_name",
    "job_title",
    "acknowledged_at",
    "witness_id",
    "content_hash",
    "supersedes_id",
)
SIGNATURE_FIELDS = (
    "id",
    "session_id",
    "signer_id",
    "printed_name",
    "meaning",
    "method",
    "signed_at",
    "content_hash",
    "covers",
    "supersedes_id",
)


def mark_row_hash(row: tuple) -> str:
    """The attendance-mark hash from a tuple of MARK_FIELDS."""
    mark_id, session_id, enrolment, user, status, by, at, supersedes, note = row
    return ledger.sha256(
        {
            "mark": mark_id,
            "session": session_id,
            "enrolment": enrolment,
            "user": user,
            "status": status,
            "by": by,
            "at": at.isoformat(),
            "supersedes": supersedes,
            "note": note,
        }
    )


def mark_hash(m: AttendanceMark) -> str:
    return mark_row_hash(ledger.values(m, MARK_FIELDS))


def ack_content_hash(ts: TrainingSession, user_id: int) -> str:
    """What an attendee acknowledges: this session of this exact program version."""
    return ledger.sha256(
        {
            "session": ts.id,
            "program": ts.program.code,
            "version": ts.version.number,
            "version_hash": ts.version.content_hash,
            "starts_at": ts.starts_at.isoformat(),
            "user": user_id,
            "meaning": "received",
        }
    )


def ack_row_hash(row: tuple) -> str:
    """The acknowledgment hash from a tuple of ACK_FIELDS."""
    (
        ack_id,
        session_id,
        enrolment,
        user,
        method,
        meaning,
        printed_name,
        job_title,
        at,
        witness,
        content_hash,
        supersedes,
    ) = row
    return ledger.sha256(
        {
            "ack": ack_id,
            "session": session_id,
            "enrolment": enrolment,
            "user": user,
            "method": method,
            "meaning": meaning,
            "printed_name": printed_name,
            "job_title": job_title,
            "at": at.isoformat(),
            "witness": witness,
            "content_hash": content_hash,
            "supersedes": supersedes,
        }
    )


def ack_hash(a: Acknowledgment) -> str:
    return ack_row_hash(ledger.values(a, ACK_FIELDS))


def attendance_content(
    ts: TrainingSession, marks: list[AttendanceMark], acks: list[Acknowledgment]
) -> dict[str, Any]:
    """Everything the instructor's signature vouches for, in a stable shape."""
    return attendance_content_rows(
        (
            ts.id,
            ts.program.code,
            ts.version.number,
            ts.version.content_hash,
            ts.instructor_id,
            ts.starts_at,
            ts.ends_at,
            ts.place,
        ),
        [ledger.values(m, MARK_FIELDS) for m in marks],
        [ledger.values(a, ACK_FIELDS) for a in acks],
    )


def attendance_content_rows(ts_row: tuple, marks: list[tuple], acks: list[tuple]) -> dict:
    """attendance_content from tuples: the session as (id, program code, version number,
    version hash, instructor id, starts_at, ends_at, place), marks as MARK_FIELDS tuples and
    acknowledgments as ACK_FIELDS tuples."""
    session_id, code, number, version_hash, instructor, starts_at, ends_at, place = ts_row
    return {
        "session": session_id,
        "program": code,
        "version": number,
        "version_hash": version_hash,
        "instructor": instructor,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "place": place,
        "attendance": [
            {"mark": m[0], "user": m[3], "status": m[4], "by": m[5], "at": m[6].isoformat()}
            for m in sorted(marks, key=lambda m: (m[3], m[0]))
        ],
        "acknowledgments": [
            {
                "ack": a[0],
                "user": a[3],
                "method": a[4],
                "at": a[8].isoformat(),
                "content_hash": a[10],
            }
            for a in sorted(acks, key=lambda a: (a[3], a[0]))
        ],
    }


def signature_row_hash(row: tuple, content_hash_now: str) -> str:
    """The conduct-signature hash from a tuple of SIGNATURE_FIELDS."""
    sig_id, session_id, signer, printed_name, meaning, method, signed_at, chash, covers, sup = row
    return ledger.sha256(
        {
            "signature": sig_id,
            "session": session_id,
            "signer": signer,
            "printed_name": printed_name,
            "meaning": meaning,
            "method": method,
            "signed_at": signed_at.isoformat(),
            "content_hash": chash,
            "covers": covers,
            "supersedes": sup,
            "content_hash_now": content_hash_now,
        }
    )


def signature_hash(sig: SessionSignature, content_hash_now: str) -> str:
    return signature_row_hash(ledger.values(sig, SIGNATURE_FIELDS), content_hash_now)


# ----- ledger resolvers -----------------------------------------------------------------------


def _resolve_marks(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(AttendanceMark, MARK_FIELDS)
    return {str(row[0]): mark_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


def _resolve_acks(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(Acknowledgment, ACK_FIELDS)
    return {str(row[0]): ack_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


def _resolve_signatures(session, ids: list[str]) -> dict[str, str]:
    """Recompute each signature's hash, with the attendance it covers read afresh."""
    sig_cols = ledger.values(SessionSignature, SIGNATURE_FIELDS)
    sigs = list(ledger.rows_by_id(session, sig_cols, ids))
    covers = [s[8] or {} for s in sigs]
    mark_ids = {i for c in covers for i in c.get("marks", [])}
    ack_ids = {i for c in covers for i in c.get("acks", [])}
    mark_cols = ledger.values(AttendanceMark, MARK_FIELDS)
    ack_cols = ledger.values(Acknowledgment, ACK_FIELDS)
    marks = {row[0]: row for row in ledger.rows_by_id(session, mark_cols, mark_ids)}
    acks = {row[0]: row for row in ledger.rows_by_id(session, ack_cols, ack_ids)}
    ts_cols = (
        TrainingSession.id,
        Program.code,
        ProgramVersion.number,
        ProgramVersion.content_hash,
        TrainingSession.instructor_id,
        TrainingSession.starts_at,
        TrainingSession.ends_at,
        TrainingSession.place,
    )
    sessions = {
        row[0]: row
        for row in session.execute(
            sa.select(*ts_cols)
            .join(Program, Program.id == TrainingSession.program_id)
            .join(ProgramVersion, ProgramVersion.id == TrainingSession.version_id)
            .where(TrainingSession.id.in_({s[1] for s in sigs} or {0}))
        )
    }
    out = {}
    for s, c in zip(sigs, covers, strict=True):
        content = attendance_content_rows(
            sessions[s[1]],
            [marks[i] for i in c.get("marks", []) if i in marks],
            [acks[i] for i in c.get("acks", []) if i in acks],
        )
        out[str(s[0])] = signature_row_hash(s, ledger.sha256(content))
    return out


ledger.register_kind(ATTENDANCE_KIND, _resolve_marks, every=sa.select(AttendanceMark.id))
ledger.register_kind(ACK_KIND, _resolve_acks, every=sa.select(Acknowledgment.id))
ledger.register_kind(SIGNATURE_KIND, _resolve_signatures, every=sa.select(SessionSignature.id))
