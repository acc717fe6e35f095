"""The rules of help requests, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.support import queries, services
from lms.support.models import HelpRequest, HelpRequestAttachment, HelpRequestEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def people(make_user):
    return {
        "employee": make_user(name="Anna Employee", locale="ru"),
        "first": make_user(name="Fred First"),
        "second": make_user("instructor", name="Sara Second"),
        "admin": make_user("admin", name="Ada Admin"),
        "other": make_user(name="Olga Other"),
    }


@pytest.fixture
def staffed(people):
    services.appoint(db.session, user_id=people["first"].id, line=1, actor_id=people["admin"].id)
    services.appoint(db.session, user_id=people["second"].id, line=2, actor_id=people["admin"].id)
    db.session.commit()
    return people


def _raise(user, **kw):
    values = dict(
        subject="Quiz will not open",
        description="The button does nothing.",
        category="quiz",
        context=services.Context(page="/learning/", language="ru", browser="Chromium"),
    )
    values.update(kw)
    req = services.raise_request(db.session, user, **values)
    db.session.commit()
    return req


def _notices(user):
    return list(
        db.session.execute(
            sa.select(OutboxMessage)
            .where(OutboxMessage.user_id == user.id)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


def test_staff_lines(staffed):
    assert services.staff_line(db.session, staffed["first"]) == 1
    assert services.staff_line(db.session, staffed["second"]) == 2
    assert services.staff_line(db.session, staffed["admin"]) == 3
    assert services.staff_line(db.session, staffed["employee"]) is None
    with pytest.raises(NotAllowed):
        services.require_staff(db.session, staffed["employee"])


def test_a_request_starts_at_the_first_line_with_its_context_and_a_clock(staffed):
    before = utcnow()
    req = _raise(staffed["employee"])
    assert (req.line, req.status, req.priority) == (1, "open", "normal")
    assert (req.page, req.language, req.browser) == ("/learning/", "ru", "Chromium")
    assert req.answer_due_at - req.created_at == timedelta(hours=24)
    assert req.created_at >= before
    assert [e.kind for e in req.events] == ["raised"]
    notice = _notices(staffed["employee"])[-1]
    assert notice.link == f"/support/{req.id}"
    # in the requester's language (Russian), not the English source
    assert "Заявка" in notice.subject or "заявк" in notice.body.lower(), notice.subject


def test_answer_times_are_configurable_per_priority(staffed):
    services.set_answer_hours(db.session, {"normal": 4, "urgent": 1}, staffed["admin"].id)
    req = _raise(staffed["employee"])
    assert req.answer_due_at - req.created_at == timedelta(hours=4)
    services.triage(db.session, req, staffed["first"], category="quiz", priority="urgent")
    assert req.answer_due_at - req.created_at == timedelta(hours=1)
    with pytest.raises(DomainError):
        services.set_answer_hours(db.session, {"low": 0}, staffed["admin"].id)


def test_escalation_goes_line_by_line_with_a_reason(staffed):
    req = _raise(staffed["employee"])
    with pytest.raises(NotAllowed):  # not support staff
        services.escalate(db.session, req, staffed["other"], "because")
    with pytest.raises(DomainError) as err:
        services.escalate(db.session, req, staffed["first"], "  ")
    assert err.value.field == "reason"
    services.escalate(db.session, req, staffed["first"], "Needs a look at the quiz settings")
    assert req.line == 2
    with pytest.raises(NotAllowed):  # it has left the first line
        services.escalate(db.session, req, staffed["first"], "again")
    with pytest.raises(NotAllowed):
        services.reply(db.session, req, staffed["first"], "I will try")
    services.escalate(db.session, req, staffed["second"], "A server setting")
    assert req.line == 3
    with pytest.raises(Conflict):
        services.escalate(db.session, req, staffed["admin"], "nowhere further")
    db.session.commit()
    steps = [(e.kind, e.from_line, e.to_line, e.body) for e in req.events]
    assert steps == [
        ("raised", None, 1, "The button does nothing."),
        ("escalated", 1, 2, "Needs a look at the quiz settings"),
        ("escalated", 2, 3, "A server setting"),
    ]
    # a notice to the requester at each change
    assert len(_notices(staffed["employee"])) == 3


def test_the_first_answer_stops_the_clock_and_replies_go_both_ways(staffed, time_travel):
    time_travel("2026-03-02 08:00Z")
    req = _raise(staffed["employee"])
    time_travel("2026-03-03 09:00Z")
    assert req.overdue(utcnow())
    line = queries.board(db.session, utcnow(), 1)[0]
    assert line.overdue == 1 and line.requests == [req]
    services.reply(db.session, req, staffed["first"], "Try reloading the page.")
    assert req.status == "answered"
    assert req.first_answered_at is not None and not req.overdue(utcnow())
    services.reply(db.session, req, staffed["employee"], "It did not help.")
    assert req.status == "open"
    told = _notices(staffed["first"])[-1]  # the first line hears of the requester's reply
    assert "It did not help." in told.body and "Anna Employee" in told.body
    with pytest.raises(NotAllowed):
        services.reply(db.session, req, staffed["other"], "me too")
    db.session.commit()
    # the requester's own reply queues no notice to themselves
    subjects = [n.body for n in _notices(staffed["employee"])]
    assert len(subjects) == 2 and "Try reloading the page." in subjects[1]


def test_the_requester_closes_and_a_closed_request_takes_nothing_more(staffed):
    req = _raise(staffed["employee"])
    with pytest.raises(NotAllowed):
        services.close(db.session, req, staffed["other"])
    with pytest.raises(DomainError):  # support closes with a note
        services.close(db.session, req, staffed["first"], "")
    services.close(db.session, req, staffed["employee"])
    assert req.status == "closed" and req.closed_at is not None
    with pytest.raises(Conflict):
        services.reply(db.session, req, staffed["employee"], "one more thing")
    with pytest.raises(Conflict):
        services.close(db.session, req, staffed["employee"])
    db.session.commit()
    assert queries.board(db.session, utcnow())[0].requests == []


def test_staff_of_the_line_hear_of_each_request_that_comes_to_them(staffed, make_user):
    other_admin = make_user("admin", name="Second Admin", locale="ru")
    req = _raise(staffed["employee"])
    first = _notices(staffed["first"])
    # Fred has chosen no language: the organisation's default (Latvian)
    assert len(first) == 1 and "pirmās līnijas atbalstu" in first[0].body
    assert _notices(staffed["second"]) == [] and _notices(staffed["admin"]) == []
    services.escalate(db.session, req, staffed["first"], "Why")
    assert len(_notices(staffed["second"])) == 1
    services.escalate(db.session, req, staffed["second"], "Why not")
    db.session.commit()
    assert len(_notices(staffed["admin"])) == 1
    # each in their own language
    assert "системным администраторам" in _notices(other_admin)[0].body


def test_without_agents_the_administrators_take_the_first_line(people):
    _raise(people["employee"])
    assert len(_notices(people["admin"])) == 1
    assert services.can_act(db.session, people["admin"], db.session.get(HelpRequest, 1))


def test_history_is_append_only(staffed):
    req = _raise(staffed["employee"])
    req.events[0].body = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    req = db.session.get(HelpRequest, req.id)
    services.reply(db.session, req, staffed["first"], "Answer")
    db.session.commit()
    ids = [e.id for e in req.events]
    services.escalate(db.session, req, staffed["first"], "Why")
    db.session.commit()
    events = db.session.execute(
        sa.select(HelpRequestEvent).where(HelpRequestEvent.request_id == req.id)
    ).scalars()
    assert [e.id for e in events][: len(ids)] == ids
    assert [e.kind for e in req.events] == ["raised", "reply", "escalated"]


def test_attachments_are_checked_by_content_and_nothing_is_stored_when_refused(staffed):
    with pytest.raises(DomainError) as err:
        _raise(staffed["employee"], upload=services.Upload("shot.png", b"MZ\x90\x00 not a png"))
    assert err.value.field == "attachment"
    with pytest.raises(DomainError) as err:
        _raise(
            staffed["employee"],
            upload=services.Upload("big.png", PNG + b"\x00" * services.MAX_ATTACHMENT),
        )
    assert "5 MB" in err.value.message
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(HelpRequest.id))).scalar() == 0
    req = _raise(staffed["employee"], upload=services.Upload("../../shot.png", PNG))
    att = db.session.execute(sa.select(HelpRequestAttachment)).scalar_one()
    assert (att.content_type, att.request_id, att.size) == ("image/png", req.id, len(PNG))
    assert "/" not in att.filename


def test_loaders_never_show_another_persons_request(staffed):
    req = _raise(staffed["employee"])
    assert services.load_request(db.session, req.id, staffed["employee"]) == (req, False)
    assert services.load_request(db.session, req.id, staffed["first"]) == (req, True)
    with pytest.raises(NotFound):
        services.load_request(db.session, req.id, staffed["other"])
    with pytest.raises(NotFound):
        services.load_request(db.session, req.id + 100, staffed["employee"])
    assert queries.my_requests(db.session, staffed["other"].id) == []


def test_context_drops_another_persons_quiz_attempt(staffed, make_program):
    from lms.learning import services as learning

    program = make_program()
    other_attempt = learning.start_attempt(db.session, staffed["other"], program)
    db.session.commit()
    req = _raise(
        staffed["employee"],
        context=services.Context(
            page="/x", program_id=program.id, attempt_id=other_attempt.id, session_id=999
        ),
    )
    assert (req.program_id, req.attempt_id, req.session_id) == (program.id, None, None)
    own = learning.start_attempt(db.session, staffed["employee"], program)
    db.session.commit()
    req2 = _raise(staffed["employee"], context=services.Context(attempt_id=own.id))
    assert (req2.attempt_id, req2.program_id) == (own.id, program.id)


def test_appointments(staffed):
    agent = services.appoint(
        db.session, user_id=staffed["other"].id, line=2, actor_id=staffed["admin"].id
    )
    assert services.staff_line(db.session, staffed["other"]) == 2
    services.end_appointment(db.session, agent, staffed["admin"].id)
    assert services.staff_line(db.session, staffed["other"]) is None
    with pytest.raises(DomainError):
        services.appoint(db.session, user_id=staffed["other"].id, line=3, actor_id=None)
