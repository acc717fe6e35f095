"""A new version does what an instruction change means, through the pages: compare shows every
changed field, the sign page says whom the approval affects, signing is refused when that
changed since the page was shown, completions of earlier versions stay valid unless the head
marks the change as needing re-briefing, and reading progress carries over."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import sqlalchemy as sa

from lms.compliance.models import PersonStatus, UnscheduledBriefing
from lms.core import texts
from lms.extensions import db
from lms.learning import services as learning
from lms.programs import services as programs
from lms.programs.models import ProgramVersion
from tests.conftest import PASSWORD, text_of
from tests.programs.test_pages import shown_effects


def _draft_with_new_description(program) -> ProgramVersion:
    draft = programs.new_draft(db.session, program, None)
    meta = programs.VersionMeta(
        **{
            f.name: getattr(draft, f.name)
            for f in dataclasses.fields(programs.VersionMeta)
            if f.name != "description"
        },
        description={"en": "About fire, and the new assembly point."},
    )
    programs.update_meta(db.session, draft, meta, None)
    programs.submit(db.session, draft, None)
    db.session.commit()
    return draft


def test_approval_without_and_with_rebriefing_through_the_pages(
    client, auth, make_user, make_program, require, complete
):
    program = make_program(code="FS-VER")
    holder = make_user(name="Holder One")
    reader = make_user(name="Reader Two")
    late = make_user(name="Late Holder")
    require(program)
    complete(holder, program, date.today() - timedelta(days=10))
    learning.mark_read(db.session, reader, program, program.current_version.topics[0])
    db.session.commit()
    draft = _draft_with_new_description(program)
    base = f"/programs/{program.id}/v/{draft.number}"

    auth.login(program.head)
    # compare shows the description that changed (the fingerprints differ too)
    diff = text_of(client.get(f"/programs/{program.id}/diff?a=1&b=2"))
    assert "the new assembly point" in diff and "same content" not in diff
    # the sign page says whom the approval affects, with and without re-briefing
    page = text_of(client.get(f"{base}/sign"))
    assert "1 people hold an earlier version: their completions stay valid" in page
    assert "each needs an unscheduled briefing" in page
    assert "progress carries over for 2 unchanged topics" in page
    seen = shown_effects(client, f"{base}/sign")
    # someone else completes version 1 meanwhile: the effects shown are out of date
    complete(late, program, date.today())
    resp = client.post(f"{base}/sign", data={"meaning": "approved", "password": PASSWORD, **seen})
    assert resp.status_code == 409 and "changed since the page was shown" in text_of(resp)
    db.session.expire_all()
    assert db.session.get(ProgramVersion, draft.id).status == "submitted"
    # signed on the fresh page, without re-briefing: holders stay valid, reading carries over
    seen = shown_effects(client, f"{base}/sign")
    resp = client.post(f"{base}/sign", data={"meaning": "approved", "password": PASSWORD, **seen})
    assert resp.status_code == 302, text_of(resp)[:500]
    db.session.expire_all()
    assert db.session.get(PersonStatus, (holder.id, program.id)).basis == "valid"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnscheduledBriefing)) == 0
    auth.logout()
    auth.login(reader)
    assert "1 of 2 topics read" in text_of(client.get("/learning/"))
    auth.logout()

    # version 3, marked as needing re-briefing: the holders owe an unscheduled briefing
    third = _draft_with_new_description(program)
    auth.login(program.head)
    base = f"/programs/{program.id}/v/{third.number}"
    seen = shown_effects(client, f"{base}/sign")
    resp = client.post(
        f"{base}/sign",
        data={"meaning": "approved", "password": PASSWORD, "needs_rebriefing": "y", **seen},
    )
    assert resp.status_code == 302, text_of(resp)[:500]
    db.session.expire_all()
    (ub,) = db.session.scalars(sa.select(UnscheduledBriefing)).all()
    assert texts.render(ub.reason).startswith("Instruction amended")  # stored as a message key
    row = db.session.get(PersonStatus, (holder.id, program.id))
    assert (row.basis, row.due_on, row.reason) == ("pending", ub.due_on, ub.reason)
    assert db.session.get(ProgramVersion, third.id).needs_rebriefing
