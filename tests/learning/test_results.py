"""Results for instructors and managers: attempts, per-question statistics (the most failed
first), who sees whose results, and a new round of attempts."""

from __future__ import annotations

import sqlalchemy as sa

from lms.core.audit import AuditEntry
from lms.extensions import db
from lms.learning import queries, services
from lms.learning.models import Attempt, AttemptGrant
from tests.conftest import text_of
from tests.learning.conftest import answers_for


def _take(user, program, pattern):
    """pattern: question key -> answered right?"""
    program.current_version.quiz = {**program.current_version.quiz, "questions_per_attempt": 3}
    db.session.flush()
    attempt = services.start_attempt(db.session, user, program)
    flags = [pattern[aq.question.key] for aq in attempt.questions]
    services.submit_attempt(db.session, attempt, user, answers_for(attempt, flags))
    db.session.commit()
    return attempt


def test_question_statistics_most_failed_first(make_user, make_program, workshop):
    program = make_program()
    people = [make_user("employee", department=workshop) for _ in range(4)]
    # q3 is failed by everyone, q1 by half, q2 by nobody
    for i, person in enumerate(people):
        _take(person, program, {"q1": i % 2 == 0, "q2": True, "q3": False})
    admin = make_user("admin")
    stats = queries.question_stats(db.session, admin, program.current_version_id)
    assert [(s.question.key, s.asked, s.correct, s.percent_correct) for s in stats] == [
        ("q3", 4, 0, 0),
        ("q1", 4, 2, 50),
        ("q2", 4, 4, 100),
    ]


def test_results_pages(client, auth, make_user, make_program, workshop):
    program = make_program(code="FS-RES")
    anna = make_user("employee", name="Anna Kļaviņa", department=workshop)
    _take(anna, program, {"q1": True, "q2": True, "q3": False})
    instructor = make_user("instructor")
    auth.login(instructor)
    text = text_of(client.get("/learning/results"))
    assert "FS-RES" in text
    resp = client.get(f"/learning/results/{program.id}")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Anna Kļaviņa" in text and "66%" in text and "passed" in text
    assert text.index("Question 3?") < text.index("Question 1?")
    attempt_id = db.session.scalar(sa.select(Attempt.id))
    review = text_of(client.get(f"/learning/results/attempts/{attempt_id}"))
    assert "Attempt 1 of Anna Kļaviņa" in review and "correct answer, not chosen" in review
    assert client.get("/learning/results/999999").status_code == 404
    assert client.get("/learning/results/attempts/999999").status_code == 404
    assert client.get(f"/learning/results/{program.id}?version=77").status_code == 200


def test_employees_do_not_see_results(client, login_as, make_program):
    program = make_program()
    login_as("employee")
    assert client.get("/learning/results").status_code == 403
    assert client.get(f"/learning/results/{program.id}").status_code == 403


def test_a_manager_sees_only_their_departments(
    client, auth, make_user, make_department, make_program
):
    production = make_department(name="Production", code="PR")
    workshop = make_department(name="Workshop", code="WS", parent=production)
    office = make_department(name="Office", code="OF")
    program = make_program()
    inside = make_user("employee", name="Inside Person", department=workshop)
    outside = make_user("employee", name="Outside Person", department=office)
    for person in (inside, outside):
        _take(person, program, {"q1": True, "q2": False, "q3": False})
    manager = make_user("manager", department=production)
    text_all = [
        s.asked for s in queries.question_stats(db.session, manager, program.current_version_id)
    ]
    assert text_all == [1, 1, 1]
    auth.login(manager)
    text = text_of(client.get(f"/learning/results/{program.id}"))
    assert "Inside Person" in text and "Outside Person" not in text
    hidden = db.session.scalar(sa.select(Attempt.id).where(Attempt.user_id == outside.id))
    assert client.get(f"/learning/results/attempts/{hidden}").status_code == 403
    resp = client.post(f"/learning/results/{program.id}/people/{outside.id}/grant")
    assert resp.status_code == 403
    # the program head sees everyone's results for the program
    auth.logout()
    auth.login(program.head)
    text = text_of(client.get(f"/learning/results/{program.id}"))
    assert "Inside Person" in text and "Outside Person" in text


def test_a_new_round_of_attempts(client, auth, make_user, make_program, workshop, start):
    program = make_program()
    program.current_version.quiz = {**program.current_version.quiz, "max_attempts": 1}
    db.session.commit()
    learner = make_user("employee", name="Stuck Learner", department=workshop)
    auth.login(learner)
    attempt = start(program)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    resp = client.post(f"/learning/programs/{program.id}/attempts")
    assert resp.status_code == 409
    # with no attempt left, the learner now sees the correct answers
    assert "correct answer, not chosen" in text_of(client.get(f"/learning/attempts/{attempt.id}"))
    auth.logout()
    auth.login(make_user("instructor"))
    page = text_of(client.get(f"/learning/results/attempts/{attempt.id}"))
    assert "has used every attempt" in page
    resp = client.post(
        f"/learning/results/{program.id}/people/{learner.id}/grant",
        data={"reason": "Explained the topic again", "attempt_id": str(attempt.id)},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/learning/results/attempts/{attempt.id}")
    grant = db.session.execute(sa.select(AttemptGrant)).scalar_one()
    assert grant.user_id == learner.id and grant.reason == "Explained the topic again"
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "grant_attempts")
    )
    assert "has used every attempt" not in text_of(
        client.get(f"/learning/results/attempts/{attempt.id}")
    )
    auth.logout()
    auth.login(learner)
    assert start(program).number == 2
