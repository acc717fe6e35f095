"""Reads for the completions pages: whose records a person may see, and the loaders."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import subtree_ids
from lms.completions import services
from lms.completions.models import Certificate, Completion
from lms.core.errors import NotAllowed, NotFound
from lms.core.model import DbSession


def can_see_person(session: DbSession, viewer: User, person: User) -> bool:
    """Own records; "records.view_any" everyone's; "records.view_department" the viewer's
    department tree (managers)."""
    if viewer.id == person.id or viewer.can("records.view_any"):
        return True
    if viewer.can("records.view_department") and viewer.department_id:
        return person.department_id in subtree_ids(session, viewer.department_id)
    return False


def _refuse() -> NotAllowed:
    return NotAllowed(_("You do not have permission to see this page."))


def visible_person(session: DbSession, viewer: User, user_id: int) -> User:
    person = session.get(User, user_id)
    if person is None:
        raise NotFound(_("There is no such page."))
    if not can_see_person(session, viewer, person):
        raise _refuse()
    return person


def visible_certificate(session: DbSession, viewer: User, cert_id: int) -> Certificate:
    cert = session.get(Certificate, cert_id)
    if cert is None:
        raise NotFound(_("There is no such page."))
    if not can_see_person(session, viewer, cert.completion.user):
        raise _refuse()
    return cert


@dataclass
class Records:
    completions: list[Completion]
    superseded: set[int]
    chains: dict[int, list[Completion]]
    certificates: dict[int, Certificate]


def records_of(session: DbSession, person: User) -> Records:
    """A person's completions with what superseded them, their lineage and certificates."""
    completions = services.completions_of(session, person.id)
    ids = [c.id for c in completions]
    certificates = session.scalars(
        sa.select(Certificate).where(Certificate.completion_id.in_(ids or [0]))
    )
    return Records(
        completions=completions,
        superseded={c.supersedes_id for c in completions if c.supersedes_id},
        chains={c.id: services.lineage(session, c)[1:] for c in completions},
        certificates={cert.completion_id: cert for cert in certificates},
    )
