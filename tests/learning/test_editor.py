"""Editing the quiz of a draft version: questions and settings; frozen versions refuse."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lms.extensions import db
from lms.programs.models import Question
from tests.conftest import text_of


def _questions(version_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Question).where(Question.version_id == version_id).order_by(Question.position)
        )
    )


def _answers(*rows):
    data = {}
    for i, (text, correct) in enumerate(rows):
        data[f"answers-{i}-text_en"] = text
        if correct:
            data[f"answers-{i}-correct"] = "y"
    return data


def test_add_edit_and_delete_questions_in_a_draft(client, login_as, make_program):
    program = make_program(approved=False)
    version = program.versions[0]
    login_as("instructor")
    base = f"/learning/programs/{program.id}/v/1/questions"
    page = client.get(base)
    assert page.status_code == 200
    assert "Question 1?" in text_of(page) and "Add a question" in text_of(page)
    form = client.get(f"{base}/new").get_data(as_text=True)
    assert 'value="q04"' in form  # a free key is proposed
    assert form.count("<legend>") == 6  # a fieldset per answer row
    resp = client.post(
        f"{base}/new",
        data={
            "key": "q-exit",
            "type": "single",
            "text_en": "Which exit do you use?",
            "text_lv": "Kuru izeju izmantojat?",
            **_answers(("The nearest safe exit", True), ("The lift", False), ("", False)),
        },
    )
    assert resp.status_code == 302, text_of(resp)
    added = _questions(version.id)[-1]
    assert added.key == "q-exit" and added.position == 4
    assert added.text == {"en": "Which exit do you use?", "lv": "Kuru izeju izmantojat?"}
    assert added.answers == [
        {"id": "a1", "text": {"en": "The nearest safe exit"}, "correct": True},
        {"id": "a2", "text": {"en": "The lift"}, "correct": False},
    ]
    # edit: the form is filled, answer ids are kept, a new answer gets a free id
    form = client.get(f"{base}/{added.id}").get_data(as_text=True)
    assert "Which exit do you use?" in form and 'value="a2"' in form
    resp = client.post(
        f"{base}/{added.id}",
        data={
            "key": "q-exit",
            "type": "multiple",
            "text_en": "Which exits may you use?",
            "answers-0-id": "a2",
            "answers-0-text_en": "The lift",
            "answers-1-id": "a1",
            "answers-1-text_en": "The nearest safe exit",
            "answers-1-correct": "y",
            "answers-2-text_en": "Another marked exit",
            "answers-2-correct": "y",
        },
    )
    assert resp.status_code == 302
    edited = _questions(version.id)[-1]
    assert edited.type == "multiple"
    assert [(a["id"], a["correct"]) for a in edited.answers] == [
        ("a2", False),
        ("a1", True),
        ("a3", True),
    ]
    resp = client.post(f"{base}/{edited.id}/delete")
    assert resp.status_code == 302
    assert [q.key for q in _questions(version.id)] == ["q1", "q2", "q3"]


def test_invalid_questions_are_refused_with_a_message(client, login_as, make_program):
    program = make_program(approved=False)
    login_as("manager")
    base = f"/learning/programs/{program.id}/v/1/questions"
    cases = [
        (
            dict(key="q1", type="single", text_en="Dup?", **_answers(("A", True), ("B", False))),
            "Another question of this version has this key.",
        ),
        (
            dict(
                key="bad key!", type="single", text_en="X?", **_answers(("A", True), ("B", False))
            ),
            "A key is 1 to 40 letters",
        ),
        (
            dict(key="q9", type="single", text_en="", **_answers(("A", True), ("B", False))),
            "A question needs a text.",
        ),
        (
            dict(key="q9", type="single", text_en="X?", **_answers(("A", True), ("B", True))),
            "Mark exactly one correct answer.",
        ),
        (
            dict(key="q9", type="multiple", text_en="X?", **_answers(("A", False), ("B", False))),
            "Mark at least one correct answer.",
        ),
        (
            dict(
                key="q9",
                type="true_false",
                text_en="X?",
                **_answers(("True", True), ("False", False), ("Maybe", False)),
            ),
            "exactly two answers",
        ),
        (
            dict(key="q9", type="single", text_en="X?", **_answers(("A", True))),
            "at least two answers",
        ),
        (
            dict(key="q9", type="essay", text_en="X?", **_answers(("A", True), ("B", False))),
            "Not a valid choice",
        ),
    ]
    for data, message in cases:
        resp = client.post(f"{base}/new", data=data)
        assert resp.status_code == 400, data
        assert message in text_of(resp), (message, text_of(resp)[:2000])
    assert len(_questions(program.versions[0].id)) == 3
    assert client.get(f"{base}/999999").status_code == 404


def test_quiz_settings_of_a_draft(client, login_as, make_program):
    program = make_program(approved=False)
    version = program.versions[0]
    login_as("admin")
    url = f"/learning/programs/{program.id}/v/1/questions/settings"
    page = client.get(f"/learning/programs/{program.id}/v/1/questions").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="pass_mark"[^>]*value="50"', page)
    assert re.search(r'<input checked[^>]*id="show_answers"', page)
    good = {
        "pass_mark": "75",
        "questions_per_attempt": "3",
        "max_attempts": "2",
        "wait_minutes": "30",
        "time_limit_minutes": "",
        "show_answers": "y",
    }
    assert client.post(url, data=good).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(version), version.id).quiz == {
        "pass_mark": 75,
        "questions_per_attempt": 3,
        "max_attempts": 2,
        "wait_minutes": 30,
        "time_limit_minutes": None,
        "show_answers": True,
    }
    resp = client.post(url, data={**good, "questions_per_attempt": "4"})
    assert resp.status_code == 400 and "from 1 to 3" in text_of(resp)
    resp = client.post(url, data={**good, "pass_mark": "0"})
    assert resp.status_code == 400 and "Pass mark" in text_of(resp)
    db.session.expire_all()
    assert db.session.get(type(version), version.id).quiz["pass_mark"] == 75


def test_a_frozen_version_refuses_changes(client, login_as, make_program):
    program = make_program(approved=True)
    version = program.versions[0]
    question = version.questions[0]
    login_as("instructor")
    base = f"/learning/programs/{program.id}/v/1/questions"
    page = client.get(base)
    assert page.status_code == 200 and "frozen" in text_of(page)
    assert "Add a question" not in text_of(page)
    for resp in (
        client.get(f"{base}/new"),
        client.post(f"{base}/new", data={"key": "qx", "type": "single", "text_en": "X"}),
        client.post(f"{base}/{question.id}", data={"key": "q1", "type": "single"}),
        client.post(f"{base}/{question.id}/delete"),
        client.post(f"{base}/settings", data={"pass_mark": "1"}),
    ):
        assert resp.status_code == 409
        assert "frozen" in text_of(resp)
    assert len(_questions(version.id)) == 3


def test_only_editors_reach_the_editor(client, login_as, make_program):
    program = make_program(approved=False)
    login_as("employee")
    assert client.get(f"/learning/programs/{program.id}/v/1/questions").status_code == 403
    assert client.get("/learning/programs/999999/v/1/questions").status_code == 403
