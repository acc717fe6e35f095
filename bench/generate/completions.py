"""Completions: what each training earned, its certificate, now and then a revocation.

Hashed with the completions services' own functions, so `flask lms verify` passes.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

from bench.generate.programs import Programs
from bench.generate.rows import row
from lms.completions import services as completion_services
from lms.completions.models import Certificate, Completion, Revocation
from lms.programs.models import Program


class Completions(Programs):
    def log(self, at: datetime, kind: str, oid: int, chash: str, actor: int | None) -> None:
        """A ledger entry to chain once the history is written, in time order."""
        self.ledger_items.append((at, kind, oid, chash, actor))

    def complete(
        self,
        person: dict[str, Any],
        p: Program,
        completed: date,
        at: datetime,
        *,
        earned: str,
        session_id: int | None = None,
        attempt_id: int | None = None,
        trainer: int | None = None,
        trainer_completion: int | None = None,
        level: int | None = None,
    ) -> int:
        v, uid = self.current(p), person["id"]
        cid = self.new_id(Completion)
        expires = completion_services.expiry_for(v, completed)
        c: Any = NS(
            **row(
                Completion,
                id=cid,
                user_id=uid,
                program_id=p.id,
                version_id=v.id,
                completed_on=completed,
                expires_on=expires,
                earned_by=earned,
                session_id=session_id,
                attempt_id=attempt_id,
                trainer_id=trainer,
                trainer_completion_id=trainer_completion,
                cascade_level=level,
                supersedes_id=None,
                recorded_by_id=trainer,
                note="",
                created_at=at,
            )
        )
        self.buf[Completion].append(dict(c.__dict__))
        self.log(
            at,
            completion_services.LEDGER_KIND,
            cid,
            completion_services.completion_hash(c),
            trainer,
        )
        cert_id = self.new_id(Certificate)
        code = secrets.token_urlsafe(15)
        number = f"BRG-{completed.year}-{cid:07d}"
        cert: Any = NS(
            **row(
                Certificate,
                id=cert_id,
                completion_id=cid,
                number=number,
                code=code,
                issued_at=at,
                language=person["locale"],
                template="classic",
                fields={
                    "organisation": self.org_name,
                    "person_name": person["name"],
                    "job_title": person["job_title"],
                    "department": self.dept_names.get(person["department_id"], ""),
                    "program_code": p.code,
                    "program_title": dict(v.title),
                    "category": p.category,
                    "version": v.number,
                    "briefing_type": v.briefing_type,
                    "hours": f"{v.total_minutes / 60:.1f}",
                    "completed_on": completed.isoformat(),
                    "expires_on": expires.isoformat() if expires else None,
                    "instructor": "",
                    "lineage": [],
                    "number": number,
                    "code": code,
                    "verify_url": f"{self.base_url}/verify/{code}",
                },
                pdf_sha256=None,
            )
        )
        self.buf[Certificate].append(dict(cert.__dict__))
        self.log(
            at,
            completion_services.CERTIFICATE_KIND,
            cert_id,
            completion_services.certificate_content_hash(cert),
            trainer,
        )
        if self.rng.random() < 0.002:
            rev: Any = NS(
                **row(
                    Revocation,
                    id=self.new_id(Revocation),
                    completion_id=cid,
                    reason="Generated revocation",
                    revoked_by_id=self.admin_id,
                    revoked_at=at + timedelta(hours=3),
                    caused_by_id=None,
                )
            )
            self.buf[Revocation].append(dict(rev.__dict__))
            self.log(
                rev.revoked_at,
                completion_services.REVOCATION_KIND,
                rev.id,
                completion_services.revocation_hash(rev),
                self.admin_id,
            )
        return cid
