"""Reminders: queued in the outbox, delivered over real SMTP (aiosmtpd on loopback) by
``flask lms send-reminders``; idempotent, nothing lost or doubled when the server is down;
and the notifications page, where people read their own messages."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from lms.accounts.services import set_active
from lms.compliance import mail, reminders
from lms.core.model import utcnow
from lms.core.outbox import OutboxMessage, queue
from lms.extensions import db
from tests.conftest import DB_KIND, text_of

NOW = "2026-11-10 09:00Z"  # 11:00 in Riga
TODAY = "2026-11-10"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts.

    Addresses starting with "bounce" are refused (550), as a real server refuses an unknown
    mailbox."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.received: list[email.message.EmailMessage] = []
        self.temporary: set[str] = set()  # addresses refused for now (451)
        self.controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox here"
        if address in self.temporary:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(msg)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.received if m["X-Envelope-To"] == address]

    def subjects(self, address: str) -> list[str]:
        return sorted(str(m["Subject"]) for m in self.to(address))


@pytest.fixture
def inbox(app):
    box = Inbox()
    box.start()
    config = app.config["LMS_CONFIG"]
    saved = (config.mail_server, config.mail_port)
    config.mail_server, config.mail_port = "127.0.0.1", box.port
    yield box
    config.mail_server, config.mail_port = saved
    box.stop()


@pytest.fixture
def org(time_travel, make_department, make_user, make_program, require, complete):
    """A plant with a manager (starting next year: no reminder of her own); Anna is due soon,
    Boris 40 days overdue, Carla compliant."""
    time_travel(NOW)
    plant = make_department("Plant", "PLANT")
    manager = make_user(
        "manager",
        name="Maija Manager",
        email="maija@example.test",
        department=plant,
        locale="en",
        start_date=date(2027, 6, 1),
    )
    plant.manager_id = manager.id
    db.session.commit()
    program = make_program(approved=True, refresher_months=12, code="FIRE-1")
    require(program, department=plant)

    def person(name, email, completed_on, locale="en"):
        user = make_user(name=name, email=email, department=plant, locale=locale)
        complete(user, program, completed_on)
        return user

    return {
        "plant": plant,
        "manager": manager,
        "program": program,
        "person": person,
        "anna": person("Anna Soon", "anna@example.test", date(2025, 12, 1)),  # due 1 Dec
        "boris": person("Boris Late", "boris@example.test", date(2025, 10, 1)),  # due 1 Oct
        "carla": person("Carla Fresh", "carla@example.test", date(2026, 6, 1)),
    }


def send(runner, day: str = TODAY, *extra: str):
    return runner.invoke(args=["lms", "send-reminders", "--date", day, *extra])


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()  # the command ran in its own app context and session
    return list(db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


# ----- what arrives ----------------------------------------------------------------------------


def test_reminders_arrive_with_recipient_subject_and_link(org, inbox, runner):
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "queued 3 reminder(s); sent 3, failed 0" in result.output

    [due] = inbox.to("anna@example.test")
    assert due["Subject"] == "Training due soon: Program 1, by Dec 1, 2026"
    assert due["From"] == "brigade@localhost"
    assert "Anna Soon" in due["To"]
    assert "Hello Anna Soon," in due.get_content()
    assert "http://127.0.0.1:5000/learning/" in due.get_content()

    [late] = inbox.to("boris@example.test")
    assert late["Subject"] == "Training overdue: Program 1, due Oct 1, 2026"
    assert "FIRE-1" in late.get_content()

    [copy] = inbox.to("maija@example.test")
    assert copy["Subject"] == "Overdue in your department: Boris Late, Program 1"
    assert "40 days overdue" in copy.get_content()
    assert f"http://127.0.0.1:5000/people/{org['boris'].id}/training" in copy.get_content()

    assert inbox.to("carla@example.test") == []
    rows = outbox_rows()
    assert {r.kind for r in rows} == {
        "reminder_due",
        "reminder_overdue",
        "reminder_overdue_manager",
    }
    assert all(r.sent_at is not None and r.attempts == 0 for r in rows)
    by_id = {m["Message-ID"] for m in inbox.received}
    assert by_id == {mail.message_id(r, "brigade@localhost") for r in rows}


def test_messages_are_written_in_the_recipients_language(org, inbox, runner):
    org["person"]("Līga", "liga@example.test", date(2025, 12, 1), locale="lv")
    assert send(runner).exit_code == 0
    [msg] = inbox.to("liga@example.test")
    assert "Programma 1" in msg["Subject"]  # the program's Latvian title
    assert "2026. gada 1. dec." in msg["Subject"]  # a Latvian date


def test_running_twice_sends_nothing_twice(org, inbox, runner):
    assert send(runner).exit_code == 0
    rows = len(outbox_rows())
    again = send(runner)
    assert again.exit_code == 0, again.output
    assert "queued 0 reminder(s); sent 0, failed 0" in again.output
    assert len(inbox.received) == 3
    # the next day the same due dates are still the same episodes: nothing new either
    assert "queued 0" in send(runner, "2026-11-11").output
    assert len(outbox_rows()) == rows and len(inbox.received) == 3


def test_the_manager_copy_comes_only_after_n_days_overdue(org, inbox, runner):
    org["person"]("Dina Recent", "dina@example.test", date(2025, 11, 1))  # due 1 Nov
    assert send(runner).exit_code == 0  # 9 days overdue
    assert inbox.subjects("dina@example.test") == ["Training overdue: Program 1, due Nov 1, 2026"]
    assert inbox.subjects("maija@example.test") == [
        "Overdue in your department: Boris Late, Program 1"
    ]
    assert send(runner, "2026-11-15").exit_code == 0  # 14 days: not more than 14
    assert len(inbox.to("maija@example.test")) == 1
    assert send(runner, "2026-11-16").exit_code == 0  # 15 days
    assert inbox.subjects("maija@example.test") == [
        "Overdue in your department: Boris Late, Program 1",
        "Overdue in your department: Dina Recent, Program 1",
    ]
    assert "15 days overdue" in inbox.to("maija@example.test")[-1].get_content()
    assert len(inbox.to("dina@example.test")) == 1  # her own reminder is not repeated
    assert send(runner, "2026-11-17").exit_code == 0
    assert len(inbox.to("maija@example.test")) == 2


def test_the_number_of_days_is_configurable(org, inbox, runner):
    assert send(runner, TODAY, "--manager-after-days", "60").exit_code == 0
    assert inbox.to("maija@example.test") == []  # Boris is 40 days overdue


def test_a_manager_without_a_manager_above_them_gets_no_copy_of_their_own(
    org, inbox, runner, complete
):
    complete(org["manager"], org["program"], date(2025, 9, 1))  # the manager is overdue too
    assert send(runner).exit_code == 0
    assert inbox.subjects("maija@example.test") == [
        "Overdue in your department: Boris Late, Program 1",
        "Training overdue: Program 1, due Sep 1, 2026",
    ]


def test_the_nearest_manager_up_the_tree_gets_the_copy(
    org, inbox, runner, make_department, make_user, complete
):
    shop = make_department("Workshop", "SHOP", parent=org["plant"])  # no manager of its own
    welder = make_user(name="Welder", email="welder@example.test", department=shop, locale="en")
    complete(welder, org["program"], date(2025, 9, 1))
    assert send(runner).exit_code == 0
    assert "Overdue in your department: Welder, Program 1" in inbox.subjects("maija@example.test")


# ----- sessions tomorrow -----------------------------------------------------------------------


def test_enrolled_people_are_reminded_the_day_before_a_session(org, inbox, runner, make_user):
    from lms.sessions import services as sessions
    from lms.sessions.queries import enrolment_of

    instructor = make_user("instructor", name="Ivo Instructor", locale="en")
    erik, fiona, gus, hana = (
        make_user(name=n, email=f"{n.lower()}@example.test", locale="en")
        for n in ("Erik", "Fiona", "Gus", "Hana")
    )

    def schedule(starts, capacity=1):
        [ts] = sessions.schedule(
            db.session,
            program_id=org["program"].id,
            instructor_id=instructor.id,
            starts_local=starts,
            ends_local=starts.replace(hour=starts.hour + 1),
            place="Hall A",
            capacity=capacity,
            actor=instructor,
        )
        return ts

    # 00:30 tomorrow in Riga is 22:30 UTC today; 00:30 the day after is 22:30 UTC tomorrow
    tomorrow = schedule(datetime(2026, 11, 11, 0, 30))
    later = schedule(datetime(2026, 11, 12, 0, 30))
    left = schedule(datetime(2026, 11, 11, 14, 0))
    called_off = schedule(datetime(2026, 11, 11, 15, 0))
    sessions.invite(db.session, tomorrow, [erik, fiona], instructor)  # fiona: waitlisted
    sessions.invite(db.session, later, [erik], instructor)
    sessions.invite(db.session, left, [gus], instructor)
    sessions.cancel_enrolment(db.session, enrolment_of(db.session, left.id, gus.id), gus)
    sessions.invite(db.session, called_off, [hana], instructor)
    sessions.cancel_session(db.session, called_off, "The hall is flooded.", instructor)
    db.session.commit()

    assert send(runner).exit_code == 0
    reminders_ = [m for m in inbox.received if str(m["Subject"]).startswith("Tomorrow:")]
    assert [m["X-Envelope-To"] for m in reminders_] == ["erik@example.test"]
    assert "Program 1" in reminders_[0]["Subject"]
    body = reminders_[0].get_content()
    assert "Hall A" in body and "Ivo Instructor" in body
    assert f"http://127.0.0.1:5000/sessions/{tomorrow.id}" in body
    # the invitations the sessions code queued went out in the same run
    assert any(str(m["Subject"]).startswith("Invitation") for m in inbox.to("fiona@example.test"))
    assert "queued 0" in send(runner).output


# ----- when things go wrong --------------------------------------------------------------------


def test_server_down_keeps_messages_queued_and_each_arrives_once_later(org, inbox, runner):
    inbox.stop()
    down = send(runner)
    assert down.exit_code == 1, down.output
    assert "sent 0, failed 0" in down.output and "not tried 3" in down.output
    assert down.output.count("cannot be used") == 1  # said once per run, not per message
    rows = outbox_rows()
    # the server is at fault, not the messages: nothing counted against them
    assert len(rows) == 3 and all(r.sent_at is None and r.attempts == 0 for r in rows)

    assert send(runner).exit_code == 1  # still down: tried again next run, nothing lost

    inbox.start()
    up = send(runner)
    assert up.exit_code == 0, up.output
    assert "queued 0 reminder(s); sent 3, failed 0" in up.output
    assert sorted(m["X-Envelope-To"] for m in inbox.received) == [
        "anna@example.test",
        "boris@example.test",
        "maija@example.test",
    ]
    assert all(r.sent_at is not None and r.last_error == "" for r in outbox_rows())
    assert "sent 0" in send(runner).output
    assert len(inbox.received) == 3
    # a retry carries the same Message-ID as every earlier try of the same row
    first = outbox_rows()[0]
    assert mail.message_id(first, "brigade@localhost") in {m["Message-ID"] for m in inbox.received}


def test_a_refused_recipient_is_set_aside_for_the_admin_while_the_rest_go_out(
    org, inbox, runner, client, login_as
):
    org["person"]("Bounce", "bounce@example.test", date(2025, 12, 1))
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "sent 3, failed 1" in result.output and "set aside 1" in result.output
    [stuck] = [r for r in outbox_rows() if r.sent_at is None]
    assert stuck.attempts == 1 and "550" in stuck.last_error and stuck.failed_at is not None
    assert len(inbox.received) == 3
    assert "sent 0, failed 0" in send(runner).output  # a 5xx is final: not tried again

    login_as("admin")
    page = client.get("/compliance/mail/failed")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "bounce@example.test" in text and "550" in text
    again = client.post(f"/compliance/mail/failed/{stuck.id}/retry")
    assert again.status_code == 303
    stuck = outbox_rows()[-1]
    assert stuck.failed_at is None and stuck.attempts == 0
    assert "bounce@example.test" not in client.get("/compliance/mail/failed").get_data(True)


def test_a_temporary_refusal_is_retried_with_backoff_then_set_aside(
    org, inbox, runner, time_travel
):
    inbox.temporary = {"anna@example.test"}
    now = utcnow()
    waits = []
    for _n in range(5):
        send(runner)
        [row] = [r for r in outbox_rows() if r.sent_at is None]
        if row.failed_at is not None:
            break
        waits.append(round((row.next_attempt_at - now).total_seconds() / 60))
        assert "sent 0, failed 0" in send(runner).output  # waiting for its backoff
        now = row.next_attempt_at
        time_travel(now)
    # 5 attempts (LMS_MAIL_MAX_ATTEMPTS): 4 waits of 5, 10, 20, 40 minutes, then set aside
    assert row.attempts == 5 and row.failed_at is not None and "451" in row.last_error
    assert waits == [5, 10, 20, 40]
    assert inbox.to("anna@example.test") == []


def test_never_trained_and_flagged_people_are_reminded(org, inbox, runner, make_user, complete):
    from lms.completions import services as completions

    program = org["program"]
    make_user(name="Nina New", email="nina@example.test", department=org["plant"], locale="en")
    trainer = make_user("manager", name="Trainer", email="trainer@example.test", locale="en")
    trainer_c = complete(trainer, program, date(2026, 1, 2))
    fiona = make_user(
        name="Fiona Flagged", email="fiona@example.test", department=org["plant"], locale="en"
    )
    complete(
        fiona, program, date(2026, 7, 1), trainer_id=trainer.id, trainer_completion_id=trainer_c.id
    )
    completions.revoke(db.session, trainer_c, "Not qualified", None)
    db.session.commit()

    result = send(runner)
    assert result.exit_code == 0, result.output
    [nina] = inbox.to("nina@example.test")  # never trained, due from her start (today)
    assert nina["Subject"].startswith("Training due soon: Program 1")
    # besides the cascade's notice at the moment of the lapse, a reminder of her own
    [fiona_mail] = [
        m for m in inbox.to("fiona@example.test") if m["Subject"] == "Briefing to repeat: Program 1"
    ]
    assert "take the briefing again" in fiona_mail.get_content()


def test_deactivated_people_get_nothing(org, inbox):
    reminders.generate_reminders(db.session, date(2026, 11, 10))
    set_active(db.session, org["anna"], False, None)
    db.session.commit()
    report = mail.deliver_pending(db.session)
    assert (report.sent, report.failed, report.skipped) == (2, 0, 1)
    assert inbox.to("anna@example.test") == []
    [anna] = [r for r in outbox_rows() if r.user_id == org["anna"].id]
    assert anna.sent_at is not None and anna.last_error == "inactive"


def test_without_a_mail_server_messages_go_to_the_log(org, app, caplog):
    assert app.config["LMS_CONFIG"].mail_server is None
    caplog.set_level(logging.INFO, logger=app.logger.name)
    reminders.generate_reminders(db.session, date(2026, 11, 10))
    db.session.commit()
    report = mail.deliver_pending(db.session)
    assert report.sent == 3
    assert "Training due soon: Program 1" in caplog.text
    assert "http://127.0.0.1:5000/learning/" in caplog.text
    assert all(r.sent_at is not None for r in outbox_rows())


def test_a_rerun_costs_a_few_queries_however_many_people(org, make_user):
    reminders.generate_reminders(db.session, date(2026, 11, 10))
    db.session.commit()
    for i in range(10):
        org["person"](f"Extra {i}", f"extra{i}@example.test", date(2025, 12, 1))
    reminders.generate_reminders(db.session, date(2026, 11, 10))
    db.session.commit()
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert reminders.generate_reminders(db.session, date(2026, 11, 10)) == 0
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 5, len(statements)


@pytest.mark.skipif(DB_KIND != "postgresql", reason="row locks need PostgreSQL")
def test_a_message_locked_by_another_run_is_skipped(org, inbox):
    reminders.generate_reminders(db.session, date(2026, 11, 10))
    db.session.commit()
    first = outbox_rows()[0].id
    with db.engine.connect() as other:  # another sender holds the first message
        other.execute(
            sa.select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update()
        )
        report = mail.deliver_pending(db.session)
        assert (report.sent, report.failed) == (2, 0)
        other.rollback()
    assert mail.deliver_pending(db.session).sent == 1
    assert len(inbox.received) == 3


# ----- the notifications page ------------------------------------------------------------------


@pytest.fixture
def mailbox(make_user):
    me = make_user(name="Me", locale="en")
    other = make_user(name="Other", locale="en")
    mine = [
        queue(
            db.session,
            user_id=me.id,
            kind="reminder_due",
            subject="First subject",
            body="Line one\nLine two",
            link="/learning/",
        ),
        queue(
            db.session,
            user_id=me.id,
            kind="reminder_due",
            subject="Second subject",
            body="Body",
            link="/learning/",
        ),
    ]
    theirs = queue(
        db.session, user_id=other.id, kind="reminder_due", subject="Not yours", body="Body"
    )
    db.session.commit()
    return {"me": me, "other": other, "mine": mine, "theirs": theirs}


def _read_at(msg_id: int):
    db.session.expire_all()
    return db.session.get(OutboxMessage, msg_id).read_at


def test_the_page_shows_own_messages_newest_first_and_marks_them_read(client, auth, mailbox):
    auth.login(mailbox["me"])
    page = text_of(client.get("/compliance/notifications"))
    assert "First subject" in page and "Second subject" in page and "Not yours" not in page
    assert page.index("Second subject") < page.index("First subject")
    assert "2 unread messages." in page and "Line one Line two" in page
    assert page.count("Unread") >= 2

    first, second = mailbox["mine"]
    resp = client.post("/compliance/notifications/read", data={"message_id": first.id})
    assert resp.status_code == 302
    assert _read_at(first.id) is not None and _read_at(second.id) is None
    assert "1 unread message." in text_of(client.get("/compliance/notifications"))

    resp = client.post("/compliance/notifications/read", data={}, follow_redirects=True)
    assert "1 notification marked as read." in text_of(resp)
    assert _read_at(second.id) is not None
    assert _read_at(mailbox["theirs"].id) is None  # only one's own rows change
    assert "0 unread messages." in text_of(client.get("/compliance/notifications"))


def test_someone_elses_or_an_unknown_notification_cannot_be_marked(client, auth, mailbox):
    auth.login(mailbox["me"])
    theirs = mailbox["theirs"]
    assert (
        client.post("/compliance/notifications/read", data={"message_id": theirs.id}).status_code
        == 404
    )
    assert (
        client.post("/compliance/notifications/read", data={"message_id": 999999}).status_code
        == 404
    )
    assert (
        client.post("/compliance/notifications/read", data={"message_id": "x"}).status_code == 400
    )
    assert _read_at(theirs.id) is None
    assert all(_read_at(m.id) is None for m in mailbox["mine"])


def test_marking_read_needs_the_csrf_token(app, client, auth, mailbox, monkeypatch):
    auth.login(mailbox["me"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    html = client.get("/compliance/notifications").get_data(as_text=True)
    assert client.post("/compliance/notifications/read", data={}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post("/compliance/notifications/read", data={"csrf_token": token})
    assert resp.status_code == 302
    assert all(_read_at(m.id) is not None for m in mailbox["mine"])


def test_everyone_finds_notifications_in_the_menu(client, login_as):
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/compliance/notifications"' in html
    assert "No notifications yet." in text_of(client.get("/compliance/notifications"))
