"""Quizzes through the pages: drawing, secrecy of the answers, grading, completions, and every
kind of bad input refused with nothing stored."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from lms.completions.models import Completion
from lms.core import clock as org_clock
from lms.core.audit import AuditEntry
from lms.core.ledger import LedgerEntry, verify
from lms.extensions import db
from lms.learning import services
from lms.learning.models import Attempt, AttemptQuestion
from lms.programs import services as programs
from tests.conftest import PASSWORD, text_of
from tests.learning.conftest import answers_for, attend_held_session, reload


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _soon() -> datetime:
    """A moment just ahead (travelling back would invalidate the signed session cookie)."""
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)


def _set_quiz(program, **quiz):
    """Change the quiz of an approved version directly (tests only; versions are frozen)."""
    version = program.current_version
    version.quiz = {**version.quiz, **quiz}
    db.session.commit()


def test_the_quiz_page_never_sends_the_correct_answers(client, signed_in, program, start):
    attempt = start(program)
    assert attempt.version_id == program.current_version_id
    assert attempt.question_count == 2 and len(attempt.questions) == 2
    html = client.get(f"/learning/attempts/{attempt.id}").get_data(as_text=True)
    assert "correct" not in html.lower()
    # answers are named by their position in this attempt's shuffled order, not their ids
    values = re.findall(r'name="q-(\d+)" value="([^"]+)"', html)
    assert values and all(v.isdigit() for _q, v in values)
    assert not re.search(r'value="a\d"', html)
    assert {int(q) for q, _v in values} == {aq.id for aq in attempt.questions}
    # fieldset and legend per question, a label on every input
    assert html.count("<fieldset") == 2 and html.count("<legend>") == 2
    for qid, v in values:
        assert f'<label for="q-{qid}-{v}"' in html


def test_passing_makes_a_completion_in_the_ledger(client, signed_in, program, start):
    attempt = start(program)
    resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    text = text_of(page)
    assert "You passed with 100%." in text and "100% (2 of 2 correct)" in text
    attempt = reload(attempt)
    assert attempt.state == "submitted" and attempt.passed and attempt.score_percent == 100
    assert all(aq.correct and aq.chosen for aq in attempt.questions)
    completion = db.session.execute(sa.select(Completion)).scalar_one()
    assert completion.user_id == signed_in.id
    assert completion.version_id == program.current_version_id
    assert completion.earned_by == "quiz" and completion.attempt_id == attempt.id
    assert completion.completed_on == org_clock.local_date(attempt.finished_at)
    assert completion.expires_on == date(
        completion.completed_on.year + 1, completion.completed_on.month, completion.completed_on.day
    )
    assert "Your completion was recorded" in text and "It is valid until" in text
    kinds = db.session.scalars(sa.select(LedgerEntry.kind)).all()
    assert "completion" in kinds and verify(db.session).ok
    audit = db.session.execute(
        sa.select(AuditEntry).where(
            AuditEntry.action == "submit", AuditEntry.object_type == "attempt"
        )
    ).scalar_one()
    assert audit.object_id == str(attempt.id) and audit.details["passed"] is True
    # passed and valid: no new attempt
    resp = client.post(f"/learning/programs/{program.id}/attempts")
    assert resp.status_code == 409 and "valid completion" in text_of(resp)


def test_failing_shows_the_score_and_which_answers_were_wrong(client, signed_in, program, start):
    attempt = start(program)
    resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    assert resp.status_code == 302
    text = text_of(client.get(f"/learning/attempts/{attempt.id}"))
    assert "0% (0 of 2 correct)" in text and "not passed" in text
    assert "wrong" in text and "2 attempts left." in text
    # correct answers are not revealed while attempts remain
    assert "correct answer, not chosen" not in text
    assert "The correct answers are shown once you pass" in text
    assert _count(Completion) == 0


def test_the_answers_stay_hidden_when_the_program_says_so(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, show_answers=False)
    attempt = start(program)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, [True, False]))
    text = text_of(client.get(f"/learning/attempts/{attempt.id}"))
    assert "50% (1 of 2 correct)" in text
    assert "Your answers" not in text and "your choice" not in text


def test_a_second_submission_is_refused_and_changes_nothing(client, signed_in, program, start):
    attempt = start(program)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    before = reload(attempt)
    snapshot = (before.finished_at, before.score_percent, [aq.chosen for aq in before.questions])
    resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, True))
    assert resp.status_code == 409
    assert "already submitted" in text_of(resp)
    after = reload(attempt)
    assert (after.finished_at, after.score_percent, [aq.chosen for aq in after.questions]) == (
        snapshot
    )
    assert _count(Completion) == 0
    assert (
        _count(AuditEntry, AuditEntry.action == "submit", AuditEntry.object_type == "attempt") == 1
    )


def test_tampered_question_ids_and_values_are_refused(
    client, signed_in, make_user, program, start, auth
):
    attempt = start(program)
    good = answers_for(attempt)
    first = f"q-{attempt.questions[0].id}"
    other_question = db.session.scalar(
        sa.select(sa.func.max(AttemptQuestion.id))
    )  # not a question of... this one: use an id far away
    bad_forms = [
        {**good, "q-999999": ["0"]},  # a question outside the attempt
        {**good, f"q-{other_question + 1000}": ["0"]},
        {**good, "q-abc": ["0"]},
        {**good, first: ["7"]},  # no such answer
        {**good, first: ["-1"]},
        {**good, first: ["zero"]},
    ]
    single = next(aq for aq in attempt.questions if aq.question.type != "multiple")
    bad_forms.append({**good, f"q-{single.id}": ["0", "1"]})  # two answers to a radio
    for form in bad_forms:
        resp = client.post(f"/learning/attempts/{attempt.id}", data=form)
        assert resp.status_code == 400, form
        assert "do not match the questions of this attempt" in text_of(resp)
    again = reload(attempt)
    assert again.state == "open" and all(aq.chosen is None for aq in again.questions)
    assert (
        _count(AuditEntry, AuditEntry.action == "submit", AuditEntry.object_type == "attempt") == 0
    )
    # the attempt still works with honest answers
    assert client.post(f"/learning/attempts/{attempt.id}", data=good).status_code == 302


def test_someone_elses_attempt_is_not_found(client, auth, make_user, program, start):
    owner = make_user("employee")
    auth.login(owner)
    attempt = start(program)
    auth.logout()
    intruder = make_user("employee")
    auth.login(intruder)
    assert client.get(f"/learning/attempts/{attempt.id}").status_code == 404
    resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    assert resp.status_code == 404
    assert reload(attempt).state == "open"


def test_unanswered_questions_show_the_form_again(client, signed_in, program, start):
    attempt = start(program)
    first, second = attempt.questions
    data = answers_for(attempt)
    del data[f"q-{second.id}"]
    resp = client.post(f"/learning/attempts/{attempt.id}", data=data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Answer every question before you submit" in text_of(resp)
    assert f'id="q-{second.id}-error"' in html and f"q-{second.id}-error" in html
    assert f'id="q-{first.id}-error"' not in html
    # what was chosen is kept
    chosen = data[f"q-{first.id}"][0]
    assert re.search(rf'id="q-{first.id}-{chosen}"[^>]*checked', html)
    assert reload(attempt).state == "open"


def test_time_limit_is_enforced_by_the_server(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, time_limit_minutes=10)
    t0 = _soon()
    with time_machine.travel(t0, tick=False):
        attempt = start(program)
        assert attempt.deadline_at == t0 + timedelta(minutes=10)
        page = client.get(f"/learning/attempts/{attempt.id}").get_data(as_text=True)
        assert f'data-deadline="{(t0 + timedelta(minutes=10)).isoformat()}"' in page
        assert "quiz-timer.js" in page
    with time_machine.travel(t0 + timedelta(minutes=11), tick=False):
        resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
        assert resp.status_code == 409
        assert "time limit for this attempt ran out" in text_of(resp)
    late = reload(attempt)
    assert late.state == "expired" and late.passed is False and late.score_percent is None
    assert all(aq.chosen is None for aq in late.questions)
    assert _count(Completion) == 0
    assert _count(AuditEntry, AuditEntry.action == "expire") == 1
    # a later resubmission is refused as well, and the closed attempt counts as used
    with time_machine.travel(t0 + timedelta(minutes=12), tick=False):
        resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
        assert resp.status_code == 409 and "ran out" in text_of(resp)
        assert "1 used of 3" in text_of(client.get(f"/learning/programs/{program.id}"))


def test_a_submission_within_the_grace_period_counts(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, time_limit_minutes=5)
    t0 = _soon()
    with time_machine.travel(t0, tick=False):
        attempt = start(program)
    with time_machine.travel(t0 + timedelta(minutes=5, seconds=20), tick=False):
        resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
        assert resp.status_code == 302
    assert reload(attempt).passed is True


def test_an_abandoned_attempt_expires_when_seen(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, time_limit_minutes=5)
    t0 = _soon()
    with time_machine.travel(t0, tick=False):
        attempt = start(program)
    with time_machine.travel(t0 + timedelta(hours=1), tick=False):
        text = text_of(client.get(f"/learning/attempts/{attempt.id}"))
        assert "not passed: the time ran out" in text
        second = start(program)
    assert second.id != attempt.id and second.number == 2
    assert reload(attempt).state == "expired"


def test_more_attempts_than_allowed_are_refused(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, max_attempts=2)
    for _ in range(2):
        attempt = start(program)
        client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    resp = client.post(f"/learning/programs/{program.id}/attempts")
    assert resp.status_code == 409
    assert "You have used all 2 attempts" in text_of(resp)
    assert _count(Attempt) == 2
    text = text_of(client.get(f"/learning/programs/{program.id}"))
    assert "You have used all 2 attempts" in text and "Start the quiz" not in text


def test_starting_again_resumes_the_open_attempt(client, signed_in, program, start):
    first = start(program)
    again = start(program)
    assert again.id == first.id and _count(Attempt) == 1


def test_the_wait_between_attempts(client, signed_in, make_program, start):
    program = make_program()
    _set_quiz(program, wait_minutes=60)
    t0 = _soon()
    with time_machine.travel(t0, tick=False):
        attempt = start(program)
        client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    with time_machine.travel(t0 + timedelta(minutes=30), tick=False):
        resp = client.post(f"/learning/programs/{program.id}/attempts")
        assert resp.status_code == 409 and "You can start the next attempt at" in text_of(resp)
        assert _count(Attempt) == 1
    with time_machine.travel(t0 + timedelta(minutes=61), tick=False):
        assert start(program).number == 2


def test_a_program_not_assigned_is_refused(
    client, auth, make_user, make_department, make_program, start
):
    office = make_department(name="Office", code="OFF")
    program = make_program(audience_departments=["OFF"])
    outsider = make_user("employee", job_title="Welder")
    auth.login(outsider)
    for resp in (
        client.post(f"/learning/programs/{program.id}/attempts"),
        client.get(f"/learning/programs/{program.id}"),
        client.get(f"/learning/programs/{program.id}/topics/1"),
        client.post(f"/learning/programs/{program.id}/topics/1/read"),
    ):
        assert resp.status_code == 403
        assert "not assigned to you" in text_of(resp)
    assert _count(Attempt) == 0
    # an attempt started while assigned cannot be submitted after the person moved away
    clerk = make_user("employee", department=office)
    auth.logout()
    auth.login(clerk)
    attempt = start(program)
    clerk.department_id = None
    db.session.commit()
    resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    assert resp.status_code == 403 and reload(attempt).state == "open"


def test_a_draft_only_program_cannot_be_taken(client, signed_in, make_program):
    program = make_program(approved=False)
    assert client.post(f"/learning/programs/{program.id}/attempts").status_code == 403
    assert client.get("/learning/programs/424242").status_code == 404


def test_the_draw_uses_only_the_current_approved_version(client, signed_in, make_program, start):
    program = make_program()
    head = program.head
    draft = programs.new_draft(db.session, program, None)
    draft.questions[0].text = {"en": "Only in version 2?"}
    for q in draft.questions[1:]:
        draft.questions.remove(q)
    draft.quiz = {**draft.quiz, "questions_per_attempt": 1}
    db.session.commit()
    attempt = start(program)  # version 2 is a draft: still version 1
    assert attempt.version.number == 1 and attempt.question_count == 2
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt, False))
    programs.submit(db.session, draft, None)
    programs.sign(db.session, draft, head, PASSWORD, "approved")
    db.session.commit()
    attempt2 = start(program)
    assert attempt2.version_id == draft.id and attempt2.version.number == 2
    assert [aq.question.version_id for aq in attempt2.questions] == [draft.id]
    # a new version starts a new round of attempts
    assert "1 used of 3" in text_of(client.get(f"/learning/programs/{program.id}"))


def test_answers_are_shuffled_and_the_order_is_stored(signed_in, make_program):
    import random

    from lms.learning import services

    program = make_program()
    program.current_version.quiz = {**program.current_version.quiz, "questions_per_attempt": 3}
    db.session.commit()
    orders = set()
    for seed in range(12):
        attempt = services.start_attempt(db.session, signed_in, program, rng=random.Random(seed))
        by_type = {aq.question.type: aq.answer_order for aq in attempt.questions}
        assert by_type["true_false"] == ["a1", "a2"]  # True stays before False
        orders.add(tuple(by_type["single"]))
        db.session.rollback()
    assert len(orders) > 1


def test_instructor_led_pass_waits_for_a_held_session(client, signed_in, make_program, start):
    program = make_program(delivery_mode="instructor_led")
    attempt = start(program)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    assert reload(attempt).passed and _count(Completion) == 0
    text = text_of(client.get(f"/learning/attempts/{attempt.id}"))
    assert "completion also needs your attendance" in text
    resp = client.post(f"/learning/programs/{program.id}/attempts")
    assert resp.status_code == 409 and "attend a session" in text_of(resp)

    from lms.learning.services import passed_attempt_id

    assert passed_attempt_id(db.session, signed_in.id, program.id) == attempt.id
    assert passed_attempt_id(db.session, signed_in.id, 999999) is None


def test_instructor_led_pass_after_a_held_session_completes(
    client, signed_in, make_user, make_program, start
):
    trainer = make_user("instructor")
    program = make_program(delivery_mode="instructor_led")
    ts = attend_held_session(program, trainer, signed_in)
    assert _count(Completion) == 0  # attended, but the quiz is still missing
    attempt = start(program)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    completion = db.session.execute(sa.select(Completion)).scalar_one()
    assert completion.earned_by == "session" and completion.session_id == ts.id
    assert completion.trainer_id == trainer.id and completion.attempt_id == attempt.id
    from lms.learning.services import complete_on_pass, passed_attempt_id

    # the attempt is used: the sessions side finds nothing, and no second completion is made
    assert passed_attempt_id(db.session, signed_in.id, program.id) is None
    assert complete_on_pass(db.session, reload(attempt), date.today()) is None
    assert _count(Completion) == 1


def test_csrf_is_required_to_submit(client, signed_in, program, start, csrf_on):
    resp = client.post(f"/learning/programs/{program.id}/attempts")
    assert resp.status_code == 400
    assert _count(Attempt) == 0


def test_an_attendance_already_used_does_not_complete_again(
    client, signed_in, make_user, make_program, start
):
    trainer = make_user("instructor")
    program = make_program(delivery_mode="instructor_led")
    attend_held_session(program, trainer, signed_in, days_ago=800)
    back_then = org_clock.to_utc(
        datetime.combine(org_clock.local_today() - timedelta(days=799), time(12))
    )
    with time_machine.travel(back_then, tick=False):
        old = services.start_attempt(db.session, signed_in, program)
        services.submit_attempt(db.session, old, signed_in, answers_for(old))
        db.session.commit()
    assert _count(Completion) == 1  # that attendance earned its completion, now expired
    attempt = start(program)  # a new cycle, but no new session attended
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    assert reload(attempt).passed
    assert _count(Completion) == 1


def test_a_submission_racing_another_one_is_refused(signed_in, program):
    """Two tabs submit at once: the second finds the row no longer open (guarded UPDATE)."""
    from lms.core.model import utcnow
    from lms.learning import services

    attempt = services.start_attempt(db.session, signed_in, program)
    db.session.commit()
    form = answers_for(attempt)
    # the other tab's submission lands first; this session's object still says "open"
    db.session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(
            state="submitted", finished_at=utcnow(), correct_count=0, score_percent=0, passed=False
        )
        .execution_options(synchronize_session=False)
    )
    assert attempt.state == "open"
    with pytest.raises(services.AlreadySubmitted):
        services.submit_attempt(db.session, attempt, signed_in, form)
    assert all(aq.chosen is None for aq in attempt.questions)


def test_a_program_without_quiz_or_expiry(client, signed_in, make_program, start):
    no_quiz = make_program(approved=False, code="NO-QUIZ")
    version = no_quiz.versions[0]
    version.questions.clear()
    version.quiz = {}
    programs.submit(db.session, version, None)
    programs.sign(db.session, version, no_quiz.head, PASSWORD, "approved")
    db.session.commit()
    assert "This program has no quiz." in text_of(client.get(f"/learning/programs/{no_quiz.id}"))
    resp = client.post(f"/learning/programs/{no_quiz.id}/attempts")
    assert resp.status_code == 409 and "no quiz" in text_of(resp)

    one_off = make_program(code="ONE-OFF", refresher_months=None)
    attempt = start(one_off)
    client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
    completion = db.session.execute(
        sa.select(Completion).where(Completion.program_id == one_off.id)
    ).scalar_one()
    assert completion.expires_on is None
    resp = client.post(f"/learning/programs/{one_off.id}/attempts")
    assert resp.status_code == 409 and "it does not expire" in text_of(resp)
    assert "no expiry" in text_of(client.get("/learning/"))
