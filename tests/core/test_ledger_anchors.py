"""A ledger that misses nothing: removed entries (newest, middle), a signed record without its
entry and a truncated backup are each named by `flask lms verify`."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms import create_app
from lms.completions import services as completions
from lms.completions.models import Certificate
from lms.config import Config
from lms.core import anchors, backup, ledger
from lms.extensions import db
from tests.conftest import DB_KIND


@pytest.fixture
def checkpoints(app, tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    monkeypatch.setattr(app.config["LMS_CONFIG"], "checkpoint_dir", str(folder))
    return folder


def _entries() -> list[ledger.LedgerEntry]:
    return list(db.session.scalars(sa.select(ledger.LedgerEntry).order_by(ledger.LedgerEntry.seq)))


def _delete(entry: ledger.LedgerEntry) -> None:
    db.session.execute(sa.delete(ledger.LedgerEntry).where(ledger.LedgerEntry.id == entry.id))
    db.session.commit()


def _history(make_program, make_user):
    program = make_program(approved=True)
    person = make_user(name="Anna Kļaviņa")
    c = completions.record_completion(
        db.session,
        user_id=person.id,
        version=program.versions[0],
        completed_on=date(2026, 3, 2),
        earned_by="session",
        actor_id=None,
    )
    db.session.commit()
    return c


def test_sequence_numbers_are_contiguous(make_program, make_user):
    _history(make_program, make_user)
    make_program(approved=True)
    assert [e.seq for e in _entries()] == list(range(1, len(_entries()) + 1))


def test_removing_the_newest_entry_is_named_against_a_checkpoint(
    runner, checkpoints, make_program, make_user
):
    _history(make_program, make_user)
    result = runner.invoke(args=["lms", "checkpoint"])
    assert result.exit_code == 0, result.output
    newest = _entries()[-1]
    assert f"entry {newest.seq}" in result.output
    ok = runner.invoke(args=["lms", "verify"])
    assert ok.exit_code == 0 and "1 anchor(s) held" in ok.output
    _delete(newest)  # the newest entry, with or without its record: the chain itself is fine
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"MISSING: ledger entry {newest.seq} is missing" in result.output
    assert f"the ledger ends at entry {newest.seq - 1}" in result.output
    assert "ledger-checkpoint-" in result.output


def test_a_pdf_given_as_anchor_catches_truncation(runner, make_program, make_user, tmp_path):
    c = _history(make_program, make_user)
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.completion_id == c.id))
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(completions.certificate_pdf(db.session, cert))  # head: before its own entry
    db.session.commit()
    make_program(approved=True)
    head = ledger.head(db.session)
    assert runner.invoke(args=["lms", "verify", "--anchor", str(pdf)]).exit_code == 0
    # remove the newest entries back past the head printed in the PDF
    printed = anchors.pdf_anchor(pdf.read_bytes(), "pdf")
    for entry in _entries():
        if entry.seq >= printed.seq:
            _delete(entry)
    result = runner.invoke(args=["lms", "verify", "--anchor", str(pdf)])
    assert result.exit_code == 1
    assert f"ledger entry {printed.seq} is missing: {pdf} recorded it" in result.output
    assert head[0] > printed.seq


def test_a_deleted_middle_entry_is_named_by_its_number(runner, make_program, make_user):
    _history(make_program, make_user)
    middle = _entries()[1]
    _delete(middle)
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"MISSING: ledger entry {middle.seq} is missing (deleted)" in result.output
    assert "previous-hash link is broken" not in result.output  # not blamed on its neighbour


def test_a_certificate_without_its_ledger_entry_is_named(runner, make_program, make_user):
    c = _history(make_program, make_user)
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.completion_id == c.id))
    entry = db.session.scalar(
        sa.select(ledger.LedgerEntry).where(
            ledger.LedgerEntry.kind == "certificate",
            ledger.LedgerEntry.object_id == str(cert.id),
        )
    )
    _delete(entry)
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"MISSING: certificate {cert.id}: the signed record has no ledger entry" in (
        result.output
    )
    assert entry.seq == ledger.head(db.session)[0] + 1  # the newest: no gap, no anchor needed


def test_an_entry_without_its_record_is_named(runner, make_program, make_user):
    c = _history(make_program, make_user)
    rev = completions.revoke(db.session, c, "Wrong person", None)
    db.session.commit()
    db.session.execute(sa.delete(type(rev)).where(type(rev).id == rev.id))
    db.session.commit()
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"(completion_revocation {rev.id}): the signed record is missing" in result.output


def test_the_demo_ends_with_a_checkpoint(runner, checkpoints):
    result = runner.invoke(args=["lms", "demo"])
    assert result.exit_code == 0, result.output
    (written,) = checkpoints.glob("ledger-checkpoint-*.json")
    anchor = anchors.read_anchor(written)
    assert anchor.seq == ledger.head(db.session)[0] > 0


@pytest.mark.skipif(DB_KIND != "sqlite", reason="restores into a second SQLite database")
def test_backup_restore_and_a_truncated_backup(
    runner, checkpoints, make_program, make_user, tmp_path
):
    _history(make_program, make_user)
    assert runner.invoke(args=["lms", "checkpoint"]).exit_code == 0
    path = tmp_path / "brigade.backup"
    result = runner.invoke(args=["lms", "backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK (backup):" in result.output and "1 anchor(s) held" in result.output
    newest = ledger.head(db.session)[0]

    target = tmp_path / "restored.db"
    other = create_app(
        Config(
            env="testing",
            secret_key="x",
            database_url=f"sqlite:///{target}",
            testing=True,
            checkpoint_dir=str(checkpoints),
        )
    )
    runner_of_other = other.test_cli_runner()

    class restore:  # the commands run in the other app's context (the test holds its own)
        @staticmethod
        def invoke(args):
            with other.app_context():
                return runner_of_other.invoke(args=args)

    result = restore.invoke(args=["lms", "restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK (restored):" in result.output
    # onto a database that is not empty: refused unless forced
    result = restore.invoke(args=["lms", "restore", str(path)])
    assert result.exit_code == 1 and "not empty" in result.output
    assert restore.invoke(args=["lms", "restore", "--force", str(path)]).exit_code == 0

    # a backup that lacks the newest entries (like a copy that missed the write-ahead log)
    short = tmp_path / "short.backup"
    short.write_bytes(path.read_bytes())
    con = sqlite3.connect(short)
    con.execute("DELETE FROM ledger WHERE seq = ?", (newest,))
    con.commit()
    con.close()
    result = restore.invoke(args=["lms", "restore", "--force", str(short)])
    assert result.exit_code == 1
    assert f"MISSING: ledger entry {newest} is missing" in result.output

    # a backup file cut short
    cut = tmp_path / "cut.backup"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    result = restore.invoke(args=["lms", "restore", "--force", str(cut)])
    assert result.exit_code == 1 and "damaged" in result.output
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(DB_KIND != "postgresql", reason="pg_dump and pg_restore")
def test_postgresql_backup_restore_and_a_truncated_backup(
    app, runner, checkpoints, make_program, make_user, tmp_path
):
    _history(make_program, make_user)
    assert runner.invoke(args=["lms", "checkpoint"]).exit_code == 0
    path = tmp_path / "brigade.backup"
    result = runner.invoke(args=["lms", "backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK (backup):" in result.output and "1 anchor(s) held" in result.output

    url = db.engine.url
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS brigade_restore_test"))
        conn.execute(sa.text("CREATE DATABASE brigade_restore_test"))
    other = create_app(
        Config(
            env="testing",
            secret_key="x",
            database_url=url.set(database="brigade_restore_test").render_as_string(
                hide_password=False
            ),
            testing=True,
            checkpoint_dir=str(checkpoints),
        )
    )
    runner_of_other = other.test_cli_runner()

    class restore:  # the commands run in the other app's context (the test holds its own)
        @staticmethod
        def invoke(args):
            with other.app_context():
                return runner_of_other.invoke(args=args)

    try:
        result = restore.invoke(args=["lms", "restore", str(path)])
        assert result.exit_code == 0, result.output
        assert "OK (restored):" in result.output
        result = restore.invoke(args=["lms", "restore", str(path)])
        assert result.exit_code == 1 and "not empty" in result.output
        cut = tmp_path / "cut.backup"
        cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        result = restore.invoke(args=["lms", "restore", "--force", str(cut)])
        assert result.exit_code == 1 and "pg_restore failed" in result.output
        # the restored database, then its newest entry removed: named against the checkpoint
        with other.app_context():
            newest = ledger.head(db.session)[0]
            db.session.execute(
                sa.delete(ledger.LedgerEntry).where(ledger.LedgerEntry.seq == newest)
            )
            db.session.commit()
        result = restore.invoke(args=["lms", "verify"])
        assert result.exit_code == 1
        assert f"MISSING: ledger entry {newest} is missing" in result.output
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS brigade_restore_test"))
        admin.dispose()


def test_backup_module_refuses_a_missing_file(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.restore(engine, Path(tmp_path / "nothing.backup"))


def test_with_mail_configured_the_auditors_get_the_checkpoint(
    app, runner, checkpoints, make_program, make_user, monkeypatch
):
    from tests.compliance.test_reminders import Inbox

    make_program(approved=True)
    auditor = make_user("auditor", email="auditor@example.test", locale="en")
    make_user("employee", email="worker@example.test")
    box = Inbox()
    box.start()
    try:
        config = app.config["LMS_CONFIG"]
        monkeypatch.setattr(config, "mail_server", "127.0.0.1")
        monkeypatch.setattr(config, "mail_port", box.port)
        result = runner.invoke(args=["lms", "checkpoint"])
        assert result.exit_code == 0, result.output
        seq, digest = ledger.head(db.session)
        (msg,) = box.received
        assert msg["X-Envelope-To"] == auditor.email
        assert str(msg["Subject"]) == f"Ledger checkpoint: entry {seq}"
        body = msg.get_body().get_content()
        assert digest in body
        # the moment in the named signature style ("Dec 3, 2026, 8:29:37 PM"), not ISO
        assert re.search(r"on [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M", body), body
    finally:
        box.stop()
