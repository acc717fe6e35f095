"""The departments a program's audience is matched against: the person's and every one above."""

from __future__ import annotations

from lms.extensions import db
from lms.learning.assignment import department_codes


def test_codes_up_the_tree_and_a_loop_ends(make_department):
    top = make_department("Company", "co")
    mid = make_department("Plant", "PLANT", parent=top)
    low = make_department("Line 1", "L1", parent=mid)
    make_department("Office", "OFF", parent=top)  # a sibling branch is not above
    assert department_codes(db.session, low.id) == {"CO", "PLANT", "L1"}
    assert department_codes(db.session, top.id) == {"CO"}
    assert department_codes(db.session, None) == set()
    top.parent_id = low.id  # a loop in the tree: every department of it, once
    db.session.flush()
    assert department_codes(db.session, mid.id) == {"CO", "PLANT", "L1"}
