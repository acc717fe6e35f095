"""The demo employee finishes reading a course pack and passes its quiz in Chromium: "My
training", the player, the quiz with its countdown and its error state, the result, and the
completion on record. Every page on the way passes axe-core (WCAG 2.1 A/AA).

Selectors are structural (addresses, ids), not button texts: the demo employee reads Latvian.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lms import demo
from lms.accounts.services import find_by_email
from lms.completions.models import Completion
from lms.core.i18n import pick
from lms.extensions import db
from lms.learning import demo as learning_demo
from lms.learning.models import Attempt
from lms.programs.models import Program
from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _load_demo():
    demo.load_demo(db.session, password=PASSWORD, echo=lambda _msg: None)
    users = {local: find_by_email(db.session, demo.email_for(local)) for local, *_ in demo.PEOPLE}
    learning_demo.load_demo(db.session, users, PASSWORD, lambda _msg: None)
    db.session.commit()
    return users


def _answer(page, attempt: Attempt, skip_last: bool = False) -> None:
    questions = attempt.questions[:-1] if skip_last else attempt.questions
    for aq in questions:
        for index, answer in enumerate(aq.shown_answers()):
            box = page.locator(f"#q-{aq.id}-{index}")
            if answer["correct"]:
                box.check()
            elif aq.question.type == "multiple":
                box.uncheck()


def test_demo_employee_reads_a_course_and_passes_its_quiz(new_page, live_server):
    users = _load_demo()
    employee = users["employee"]
    program = db.session.execute(sa.select(Program).where(Program.code == "FS-BASIC")).scalar_one()
    version = program.current_version
    assert version.delivery_mode == "self_paced"

    page = new_page()
    sign_in(page, employee.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "lv")

    # My training, from the navigation
    page.locator('nav.main-nav a[href="/learning/"]').click()
    expect(page).to_have_url(f"{live_server.url}/learning/")
    course_link = page.locator(f'main table a[href="/learning/programs/{program.id}"]')
    expect(course_link).to_contain_text("FS-BASIC")
    assert_accessible(page, "my training")

    # the course: two topics were read on another day; continue at the third
    course_link.click()
    expect(page.locator("progress")).to_have_attribute("value", "2")
    assert_accessible(page, "course page")
    page.locator(f'main a.button[href="/learning/programs/{program.id}/topics/3"]').click()
    third = version.topics[2]
    expect(page.get_by_role("heading", level=1)).to_have_text(pick(third.title, "lv")[0])
    assert_accessible(page, "a topic")
    for _ in range(len(version.topics)):
        if "/topics/" not in page.url:
            break
        page.locator('main form[action$="/read"] button').click()
        page.wait_for_load_state()
    expect(page).to_have_url(re.compile(rf"/learning/programs/{program.id}#quiz$"))
    expect(page.locator("progress")).to_have_attribute("value", str(len(version.topics)))

    # the quiz, with a countdown (progressive enhancement)
    page.locator(f'main form[action="/learning/programs/{program.id}/attempts"] button').click()
    expect(page).to_have_url(re.compile(r"/learning/attempts/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[1])
    submit = f'main form[action="/learning/attempts/{attempt_id}"] button[type=submit]'
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.user_id == employee.id and attempt.version_id == version.id
    assert attempt.question_count == version.quiz["questions_per_attempt"]
    expect(page.locator(".quiz-timer")).to_have_text(re.compile(r"\d+:\d\d$"))
    expect(page.locator("main fieldset")).to_have_count(attempt.question_count)
    assert "correct" not in page.content().lower()
    assert_accessible(page, "quiz page")

    # one question left out: the form comes back with the error tied to it
    _answer(page, attempt, skip_last=True)
    page.locator(submit).click()
    expect(page.locator(".error-summary")).to_be_visible()
    last = attempt.questions[-1]
    expect(page.locator(f"#q-{last.id}-error")).to_be_visible()
    expect(page.locator(f"#q-{attempt.questions[0].id}-0")).to_be_visible()
    assert_accessible(page, "quiz page with an unanswered question")

    _answer(page, attempt)
    page.locator(submit).click()
    expect(page).to_have_url(f"{live_server.url}/learning/attempts/{attempt_id}")
    expect(page.locator(".flash-success").first).to_be_visible()
    expect(page.locator("main dl .badge.ok")).to_be_visible()
    assert_accessible(page, "quiz result")

    db.session.expire_all()
    completion = db.session.execute(
        sa.select(Completion).where(
            Completion.user_id == employee.id, Completion.program_id == program.id
        )
    ).scalar_one()
    assert completion.earned_by == "quiz" and completion.attempt_id == attempt_id
    assert completion.expires_on is not None

    page.locator('nav.main-nav a[href="/learning/"]').click()
    row = page.locator(
        "main table tr", has=page.locator(f'a[href="/learning/programs/{program.id}"]')
    )
    expect(row.locator(".badge.ok")).to_be_visible()


def test_results_and_the_quiz_editor_are_accessible(new_page, live_server):
    from lms.programs import services as programs

    users = _load_demo()
    program = db.session.execute(sa.select(Program).where(Program.code == "FS-BASIC")).scalar_one()
    draft = programs.new_draft(db.session, program, users["instructor"].id)
    db.session.commit()
    attempt_id = db.session.scalar(
        sa.select(Attempt.id).where(Attempt.program_id == program.id).order_by(Attempt.id)
    )

    page = new_page()
    sign_in(page, users["instructor"].email, PASSWORD)
    page.locator('nav.main-nav a[href="/learning/results"]').click()
    assert_accessible(page, "quiz results")
    page.locator(f'main a[href="/learning/results/{program.id}"]').click()
    expect(page.locator("main table").first.locator("tbody tr")).to_have_count(
        len(program.current_version.questions)
    )
    assert_accessible(page, "results of a program")
    page.goto(f"/learning/results/attempts/{attempt_id}")
    assert_accessible(page, "an attempt reviewed")

    base = f"/learning/programs/{program.id}/v/{draft.number}/questions"
    page.goto(base)
    expect(page.locator("main form").first).to_be_visible()
    assert_accessible(page, "quiz editor")
    page.goto(f"{base}/new")
    page.locator("#text_en").fill("Where is the nearest extinguisher?")
    page.locator("main form button[type=submit], main form input[type=submit]").last.click()
    expect(page.locator(".flash-error").first).to_be_visible()  # no answers given
    assert_accessible(page, "question form with an error")
    page.goto(base)
    page.locator("#pass_mark").fill("0")
    page.locator(f'main form[action="{base}/settings"] input[type=submit]').click()
    expect(page.locator("#pass_mark")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "quiz settings with an error")
