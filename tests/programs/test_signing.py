"""Program versions: freezing, sign-off rules, the ledger and tamper detection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.core import ledger
from lms.core.audit import AuditEntry
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.extensions import db
from lms.programs import services
from lms.programs.models import ProgramVersion, Signature, Topic
from tests.conftest import PASSWORD


def _submitted(make_program):
    program = make_program(approved=False)
    version = program.versions[0]
    services.submit(db.session, version, None)
    db.session.commit()
    return program, version


def test_head_approves_with_password_and_meaning(make_program):
    program, version = _submitted(make_program)
    sig = services.sign(db.session, version, program.head, PASSWORD, "approved")
    db.session.commit()
    assert version.status == "approved"
    assert program.current_version_id == version.id
    assert sig.printed_name == program.head.name
    assert sig.meaning == "approved"
    assert sig.content_hash == services.content_hash(version) == version.content_hash
    assert sig.signed_at.tzinfo is not None
    entry = db.session.execute(sa.select(ledger.LedgerEntry)).scalar_one()
    assert entry.kind == "program_signature" and entry.object_id == str(sig.id)
    assert ledger.verify(db.session).ok


def test_wrong_password_signs_nothing_but_is_audited(make_program):
    program, version = _submitted(make_program)
    with pytest.raises(DomainError, match="password is wrong"):
        services.sign(db.session, version, program.head, "not-it", "approved")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert version.status == "submitted"
    assert db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "sign_failed")
    ).scalar()


def test_only_the_head_signs(make_program, make_user):
    program, version = _submitted(make_program)
    other = make_user("manager")
    with pytest.raises(NotAllowed):
        services.sign(db.session, version, other, PASSWORD, "approved")


def test_a_draft_cannot_be_signed(make_program):
    program = make_program(approved=False)
    with pytest.raises(DomainError, match="draft cannot be signed"):
        services.sign(db.session, program.versions[0], program.head, PASSWORD, "approved")


def test_signing_twice_is_refused(make_program):
    program, version = _submitted(make_program)
    services.sign(db.session, version, program.head, PASSWORD, "reviewed")
    with pytest.raises(Conflict, match="already signed"):
        services.sign(db.session, version, program.head, PASSWORD, "reviewed")
    services.sign(db.session, version, program.head, PASSWORD, "approved")
    with pytest.raises(Conflict, match="already been decided"):
        services.sign(db.session, version, program.head, PASSWORD, "approved")


def test_rejection_needs_a_comment_and_ends_the_version(make_program):
    program, version = _submitted(make_program)
    with pytest.raises(DomainError, match="what must change"):
        services.sign(db.session, version, program.head, PASSWORD, "rejected", "")
    services.sign(db.session, version, program.head, PASSWORD, "rejected", "Topic 2 is too short")
    assert version.status == "rejected"
    assert program.current_version_id is None
    draft = services.new_draft(db.session, program, None)
    assert draft.number == 2 and draft.status == "draft"
    assert [t.title for t in draft.topics] == [t.title for t in version.topics]


def test_frozen_version_cannot_be_edited(make_program):
    program, version = _submitted(make_program)
    topic = version.topics[0]
    with pytest.raises(services.Frozen):
        services.update_topic(
            db.session, topic, title={"en": "x"}, body={}, minutes=5, kind="lesson", actor_id=None
        )
    with pytest.raises(services.Frozen):
        services.add_topic(
            db.session, version, title={"en": "x"}, body={}, minutes=5, kind="lesson", actor_id=None
        )
    with pytest.raises(services.Frozen):
        services.delete_topic(db.session, topic, None)


def test_changed_program_needs_a_new_signature(make_program):
    program = make_program(approved=True)
    v1 = program.versions[0]
    draft = services.new_draft(db.session, program, None)
    services.update_topic(
        db.session,
        draft.topics[0],
        title={"en": "Fire tetrahedron"},
        body={"en": "Four things."},
        minutes=40,
        kind="lesson",
        actor_id=None,
    )
    services.submit(db.session, draft, None)
    db.session.commit()
    assert draft.content_hash != v1.content_hash
    assert program.current_version_id == v1.id  # still the old, signed one
    with pytest.raises(Conflict, match="version in progress"):
        services.new_draft(db.session, program, None)
    services.sign(db.session, draft, program.head, PASSWORD, "approved")
    assert program.current_version_id == draft.id
    assert v1.status == "approved" and len(v1.signatures) == 1  # the old one stays readable


def test_only_approved_versions_can_be_used(make_program):
    program = make_program(approved=False)
    with pytest.raises(DomainError, match="Only an approved"):
        services.approved_version(db.session, program.versions[0].id)
    approved = make_program(approved=True)
    assert services.approved_version(db.session, approved.versions[0].id).status == "approved"


def test_tampering_with_signed_content_is_detected(make_program):
    program = make_program(approved=True)
    version = program.versions[0]
    assert ledger.verify(db.session).ok
    topic_id = version.topics[0].id
    # someone edits the signed topic behind the application's back
    db.session.execute(sa.update(Topic).where(Topic.id == topic_id).values(minutes=5))
    db.session.commit()
    report = ledger.verify(db.session)
    assert not report.ok
    entry_id = db.session.execute(sa.select(ledger.LedgerEntry.id)).scalar_one()
    assert [(p.entry_id, p.reason) for p in report.problems] == [
        (entry_id, "the signed record was changed after signing")
    ]


def test_tampering_with_the_signature_or_the_chain_is_detected(make_program):
    make_program(approved=True)
    make_program(approved=True)
    assert ledger.verify(db.session).checked == 2
    first, second = (
        db.session.execute(sa.select(ledger.LedgerEntry).order_by(ledger.LedgerEntry.id))
        .scalars()
        .all()
    )
    db.session.execute(
        sa.update(Signature)
        .values(printed_name="Someone Else")
        .where(Signature.id == int(first.object_id))
    )
    db.session.execute(
        sa.update(ledger.LedgerEntry)
        .where(ledger.LedgerEntry.id == second.id)
        .values(actor_id=None)
    )
    db.session.commit()
    problems = ledger.verify(db.session).problems
    assert {(p.entry_id, p.reason) for p in problems} == {
        (first.id, "the signed record was changed after signing"),
        (second.id, "entry was altered (hash mismatch)"),
    }


def test_deleted_ledger_row_breaks_the_chain(make_program):
    for _ in range(3):
        make_program(approved=True)
    rows = (
        db.session.execute(sa.select(ledger.LedgerEntry.id).order_by(ledger.LedgerEntry.id))
        .scalars()
        .all()
    )
    gone = db.session.get(ledger.LedgerEntry, rows[1])
    db.session.execute(sa.delete(ledger.LedgerEntry).where(ledger.LedgerEntry.id == rows[1]))
    db.session.commit()
    problems = ledger.verify(db.session).problems
    # named by its own number, not its neighbour's; and its signature now lacks an entry
    assert [(p.seq, p.object_id, p.reason) for p in problems] == [
        (2, "?", "is missing (deleted)"),
        (None, gone.object_id, "the signed record has no ledger entry"),
    ]


def test_verify_command(runner, make_program):
    make_program(approved=True)
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 0 and "OK: 1 ledger entries verified" in result.output
    db.session.execute(sa.update(ProgramVersion).values(refresher_months=60))
    db.session.commit()
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert "ALTERED: ledger entry" in result.output and "changed after signing" in result.output


def test_diff_shows_changed_lines(make_program):
    program = make_program(approved=True)
    draft = services.new_draft(db.session, program, None)
    services.update_topic(
        db.session,
        draft.topics[1],
        title={"en": "Extinguishers"},
        body={"en": "Pull, aim, squeeze, sweep.\nCheck the gauge."},
        minutes=45,
        kind="practice",
        actor_id=None,
    )
    sections = services.diff_versions(program.versions[0], draft, "en")
    assert len(sections) == 1
    added = [line.text for line in sections[0].lines if line.kind == "added"]
    assert added == ["Check the gauge."]
