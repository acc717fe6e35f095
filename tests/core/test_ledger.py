"""ledger.verify split over worker processes reports exactly what one pass reports."""

from __future__ import annotations

import sqlalchemy as sa

from lms.core import ledger
from lms.extensions import db
from lms.programs.models import Signature


def _entries():
    return (
        db.session.execute(sa.select(ledger.LedgerEntry).order_by(ledger.LedgerEntry.id))
        .scalars()
        .all()
    )


def test_verify_in_worker_processes_matches_one_pass(make_program, monkeypatch):
    for _ in range(6):
        make_program(approved=True)
    assert ledger.verify(db.session).checked == 6
    monkeypatch.setattr(ledger, "ENTRIES_PER_PROCESS", 1)  # split even a tiny ledger
    assert ledger.verify(db.session, processes=2).ok

    first, _second, third, *_rest, last = _entries()
    # an object entered twice: only the newest entry counts, wherever the stretches fall
    again = ledger.append(db.session, first.kind, first.object_id, "0" * 64, None)
    db.session.commit()
    db.session.execute(
        sa.update(Signature)
        .values(printed_name="Someone Else")
        .where(Signature.id == int(last.object_id))
    )
    db.session.execute(sa.delete(ledger.LedgerEntry).where(ledger.LedgerEntry.id == third.id))
    db.session.commit()

    one = ledger.verify(db.session)
    split = ledger.verify(db.session, processes=2)
    assert split.checked == one.checked == 6
    assert [(p.entry_id, p.seq, p.object_id, p.reason) for p in split.problems] == [
        (p.entry_id, p.seq, p.object_id, p.reason) for p in one.problems
    ]
    assert [(p.entry_id, p.seq, p.object_id, p.reason) for p in one.problems] == [
        (None, third.seq, "?", "is missing (deleted)"),
        (last.id, last.seq, last.object_id, "the signed record was changed after signing"),
        (again.id, again.seq, again.object_id, "the signed record was changed after signing"),
        (None, None, third.object_id, "the signed record has no ledger entry"),
    ]


def test_rows_by_id_reads_dense_and_sparse_ids(make_program):
    for _ in range(3):
        make_program(approved=True)
    ids = [e.id for e in _entries()]
    cols = (ledger.LedgerEntry.id, ledger.LedgerEntry.kind)
    dense = {row[0] for row in ledger.rows_by_id(db.session, cols, [str(i) for i in ids[:2]])}
    sparse = {row[0] for row in ledger.rows_by_id(db.session, cols, [ids[0], ids[2], 10**9])}
    assert dense == set(ids[:2]) and sparse == {ids[0], ids[2]}
