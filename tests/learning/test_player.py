"""The course player: topics in order, progress per topic, resuming on another device, the
learner's language with a notice when it falls back, attachments."""

from __future__ import annotations

import sqlalchemy as sa

from lms.extensions import db
from lms.learning.models import TopicProgress
from lms.programs import services as programs
from tests.conftest import text_of


def _progress(user) -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(TopicProgress.topic_id)
            .where(TopicProgress.user_id == user.id)
            .order_by(TopicProgress.id)
        )
    )


def test_read_topics_in_order_and_resume_on_another_device(app, client, signed_in, program):
    version = program.current_version
    first, second = version.topics
    text = text_of(client.get(f"/learning/programs/{program.id}"))
    assert "0 of 2 topics read" in text and "Start reading" in text
    page = text_of(client.get(f"/learning/programs/{program.id}/topics/1"))
    assert "Topic 1 of 2" in page and "Heat, fuel, oxygen" in page
    resp = client.post(f"/learning/programs/{program.id}/topics/1/read")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/learning/programs/{program.id}/topics/2")
    assert _progress(signed_in) == [first.id]
    # reading the same topic again records nothing new
    client.post(f"/learning/programs/{program.id}/topics/1/read")
    assert _progress(signed_in) == [first.id]

    # another device: a fresh client signs in and is offered to continue at topic 2
    other = app.test_client()
    other.post("/login", data={"email": signed_in.email, "password": "correct-horse-battery"})
    html = other.get(f"/learning/programs/{program.id}").get_data(as_text=True)
    assert "Continue reading" in html
    assert f'href="/learning/programs/{program.id}/topics/2">Continue reading' in html
    assert "1 of 2 topics read" in text_of(other.get("/learning/"))
    resp = other.post(f"/learning/programs/{program.id}/topics/2/read")
    assert resp.headers["Location"].endswith(f"/learning/programs/{program.id}#quiz")
    assert _progress(signed_in) == [first.id, second.id]
    text = text_of(other.get(f"/learning/programs/{program.id}"))
    assert "2 of 2 topics read" in text and "Read again" in text and "Start the quiz" in text


def test_resume_goes_back_to_a_skipped_topic(client, signed_in, make_program):
    program = make_program()
    # read topic 2 first, then topic 1: finishing topic 1 leads to the quiz, not topic 2 again
    client.post(f"/learning/programs/{program.id}/topics/2/read")
    resp = client.post(f"/learning/programs/{program.id}/topics/1/read")
    assert resp.headers["Location"].endswith("#quiz")


def test_unknown_topics_are_not_found(client, signed_in, program):
    assert client.get(f"/learning/programs/{program.id}/topics/9").status_code == 404
    assert client.post(f"/learning/programs/{program.id}/topics/9/read").status_code == 404
    assert client.get("/learning/programs/999999/topics/1").status_code == 404
    assert _progress(signed_in) == []


def test_the_learners_language_and_the_fallback_notice(client, auth, make_user, program, start):
    latvian = make_user("employee", locale="lv")
    auth.login(latvian)
    # topic 1 exists in Latvian: no notice
    html = client.get(f"/learning/programs/{program.id}/topics/1").get_data(as_text=True)
    assert "Uguns trīsstūris" in html and "Siltums." in html
    assert 'class="flash flash-warning"' not in html
    # topic 2 exists only in English: shown in English, and the page says so
    html = client.get(f"/learning/programs/{program.id}/topics/2").get_data(as_text=True)
    assert "Pull, aim, squeeze, sweep." in html
    assert 'lang="en"' in html and 'class="flash flash-warning"' in html
    # the questions exist only in English: the quiz says so
    attempt = start(program)
    html = client.get(f"/learning/attempts/{attempt.id}").get_data(as_text=True)
    assert 'class="flash flash-warning"' in html and "English" in html
    assert '<span lang="en">Question' in html


def test_english_learner_sees_no_notice(client, signed_in, program, start):
    html = client.get(f"/learning/programs/{program.id}/topics/2").get_data(as_text=True)
    assert "not available in your language" not in html
    attempt = start(program)
    text = text_of(client.get(f"/learning/attempts/{attempt.id}"))
    assert "not available in your language" not in text


def test_attachments_of_an_assigned_course(client, signed_in, make_user, make_program):
    program = make_program(approved=False)
    topic = program.versions[0].topics[0]
    att = programs.add_attachment(db.session, topic, "plan.pdf", b"%PDF-1.4 plan", None)
    version = program.versions[0]
    programs.submit(db.session, version, None)
    programs.sign(db.session, version, program.head, "correct-horse-battery", "approved")
    db.session.commit()
    page = client.get(f"/learning/programs/{program.id}/topics/1").get_data(as_text=True)
    link = f"/learning/programs/{program.id}/attachments/{att.id}"
    assert link in page
    resp = client.get(link)
    assert resp.status_code == 200 and resp.data == b"%PDF-1.4 plan"
    other = make_program()
    assert client.get(f"/learning/programs/{other.id}/attachments/{att.id}").status_code == 404
    assert client.get(f"/learning/programs/{program.id}/attachments/999999").status_code == 404
