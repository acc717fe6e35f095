"""Sessions: held briefings with enrolments, attendance, acknowledgments and a signature.

Hashed with the sessions services' own functions, so `flask lms verify` passes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace as NS
from typing import Any

from bench.generate.learning import Learning
from bench.generate.rows import row
from lms.core import ledger
from lms.programs.models import Program, ProgramVersion
from lms.sessions import services as sessions
from lms.sessions.models import (
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)


class Sessions(Learning):
    def session(
        self,
        p: Program,
        v: ProgramVersion,
        day: date,
        hour: int,
        trainer: int,
        dept: int | None,
        group: list[dict[str, Any]],
    ) -> None:
        buf = self.buf
        sid = self.new_id(TrainingSession)
        starts = datetime.combine(day, time(hour, 0), UTC)
        ends = starts + timedelta(hours=2)
        created = starts - timedelta(days=14)
        buf[TrainingSession].append(
            row(
                TrainingSession,
                id=sid,
                program_id=p.id,
                version_id=v.id,
                instructor_id=trainer,
                department_id=dept,
                starts_at=starts,
                ends_at=ends,
                place="Training room",
                capacity=30,
                status="held",
                open_signup=True,
                updated_at=ends,
                created_by_id=trainer,
                created_at=created,
            )
        )
        ts_ns: Any = NS(
            id=sid,
            program=NS(code=p.code),
            version=NS(number=v.number, content_hash=v.content_hash),
            instructor_id=trainer,
            starts_at=starts,
            ends_at=ends,
            place="Training room",
        )
        marks: list[Any] = []
        acks: list[Any] = []
        attended: list[dict[str, Any]] = []
        for event in sorted(group, key=lambda e: e["person"]["id"]):
            person = event["person"]
            uid = person["id"]
            en_id = self.new_id(Enrolment)
            buf[Enrolment].append(
                row(
                    Enrolment,
                    id=en_id,
                    session_id=sid,
                    user_id=uid,
                    status="enrolled",
                    source="invited",
                    requested_at=created,
                    invited_by_id=trainer,
                    created_at=created,
                )
            )
            mark: Any = NS(
                **row(
                    AttendanceMark,
                    id=self.new_id(AttendanceMark),
                    session_id=sid,
                    enrolment_id=en_id,
                    user_id=uid,
                    status="absent" if event["absent"] else "present",
                    recorded_by_id=trainer,
                    recorded_at=ends,
                )
            )
            buf[AttendanceMark].append(dict(mark.__dict__))
            self.log(ends, sessions.ATTENDANCE_KIND, mark.id, sessions.mark_hash(mark), trainer)
            marks.append(mark)
            if event["absent"]:
                continue
            ack: Any = NS(
                **row(
                    Acknowledgment,
                    id=self.new_id(Acknowledgment),
                    session_id=sid,
                    enrolment_id=en_id,
                    user_id=uid,
                    method="pin",
                    meaning="received",
                    printed_name=person["name"],
                    job_title=person["job_title"],
                    acknowledged_at=ends,
                    witness_id=trainer,
                    content_hash=sessions.ack_content_hash(ts_ns, uid),
                )
            )
            buf[Acknowledgment].append(dict(ack.__dict__))
            self.log(ends, sessions.ACK_KIND, ack.id, sessions.ack_hash(ack), uid)
            acks.append(ack)
            attended.append(event)
        sig_id = self.new_id(SessionSignature)
        chash = ledger.sha256(sessions.attendance_content(ts_ns, marks, acks))
        sig: Any = NS(
            **row(
                SessionSignature,
                id=sig_id,
                session_id=sid,
                signer_id=trainer,
                printed_name="Instructor",
                meaning="conducted",
                method="password",
                signed_at=ends,
                content_hash=chash,
                covers={"marks": [m.id for m in marks], "acks": [a.id for a in acks]},
            )
        )
        buf[SessionSignature].append(dict(sig.__dict__))
        self.log(
            ends, sessions.SIGNATURE_KIND, sig_id, sessions.signature_hash(sig, chash), trainer
        )
        for event in attended:
            trainer_event = event.get("trainer_event")
            event["cid"] = self.complete(
                event["person"],
                p,
                day,
                ends,
                earned="session",
                session_id=sid,
                trainer=trainer,
                trainer_completion=trainer_event["cid"] if trainer_event else None,
                level=event.get("level"),
            )
