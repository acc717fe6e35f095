"""Delivering the outbox by e-mail: a batch job that commits once per message.

Unlike services, ``deliver_pending`` commits: each message is claimed, handed to the SMTP
server and marked sent in its own transaction, so a crash in the middle of a run loses nothing
and sends nothing twice that was recorded as sent. The one window left is between the server
accepting a message and our commit; a message caught in it is sent again on the next run with
the same ``Message-ID`` (derived from the outbox row), so it can be recognised as a repeat.

Two runs at the same time never send the same message: a message is claimed under a row lock
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so the other run moves on to the next one; on SQLite
a no-op write takes the database's write lock, which serialises the runs) and re-checked for
``sent_at IS NULL`` under that lock.

Without ``LMS_MAIL_SERVER`` (development) messages are written to the application log and
marked sent.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.core.model import utcnow
from lms.core.outbox import OutboxMessage

SMTP_TIMEOUT = 30  # seconds
INACTIVE = "inactive"

# Refusals of one message; the connection stays usable for the next one.
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


@dataclass
class DeliveryReport:
    sent: int = 0  # accepted by the SMTP server (or logged, in development)
    failed: int = 0  # tried and not accepted: still queued, attempts raised
    skipped: int = 0  # recipient deactivated: marked done without sending
    deferred: int = 0  # not tried in this run because the server could not be reached

    @property
    def tried(self) -> int:
        return self.sent + self.failed


def message_id(msg: OutboxMessage, sender: str) -> str:
    """A Message-ID fixed by the outbox row, the same on every retry of that row."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<brigade.outbox.{msg.id}.{int(msg.created_at.timestamp())}@{domain}>"


def absolute_link(link: str, base_url: str) -> str:
    if link.startswith("/") and not link.startswith("//"):
        return base_url.rstrip("/") + link
    return link


def build_email(msg: OutboxMessage, user: User, config) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config.mail_sender
    email["To"] = formataddr((user.name, user.email))
    email["Subject"] = " ".join(msg.subject.split())  # never a line break in a header
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message_id(msg, config.mail_sender)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    body = msg.body
    if msg.link:
        body = f"{body}\n\n{absolute_link(msg.link, config.base_url)}"
    email.set_content(body + "\n")
    return email


def _pending_ids(session, limit: int) -> list[int]:
    return list(
        session.execute(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).scalars()
    )


def _claim(session, msg_id: int) -> tuple[OutboxMessage, User] | None:
    """The message and its recipient, locked for this transaction, or None when it was sent
    meanwhile or another run holds it."""
    if session.get_bind().dialect.name == "sqlite":
        taken = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == msg_id, OutboxMessage.sent_at.is_(None))
            .values(attempts=OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:
            return None
    row = session.execute(
        sa.select(OutboxMessage, User)
        .join(User, User.id == OutboxMessage.user_id)
        .where(OutboxMessage.id == msg_id, OutboxMessage.sent_at.is_(None))
        .with_for_update(skip_locked=True, of=OutboxMessage)
        .execution_options(populate_existing=True)
    ).first()
    return (row[0], row[1]) if row else None


def _log(msg: OutboxMessage, user: User, email: EmailMessage) -> None:
    current_app.logger.info(
        "mail (no LMS_MAIL_SERVER, not sent) outbox #%s to %s: %s\n%s",
        msg.id,
        user.email,
        msg.subject,
        email.get_content(),
    )


def _failed(session, msg: OutboxMessage, err: Exception, report: DeliveryReport) -> None:
    msg.attempts = (msg.attempts or 0) + 1
    msg.last_error = f"{type(err).__name__}: {err}"[:500]
    session.commit()
    report.failed += 1
    current_app.logger.warning("mail: outbox #%s not delivered (%s)", msg.id, msg.last_error)


def deliver_pending(session, *, limit: int = 500) -> DeliveryReport:
    """Send up to ``limit`` queued messages (oldest first); commits once per message.

    A batch job, not a service: it commits the session it is given (first whatever is pending
    in it, then each message), so call it from the CLI or a job, never inside a request.

    A message is marked sent only after the SMTP server accepted it. When sending fails, the
    message stays queued with ``attempts`` raised and ``last_error`` set, and the next run tries
    again. When the server cannot be reached at all the run stops there: the rest stay queued,
    untouched, for the next run. Deactivated recipients are marked done with last_error
    "inactive" and get nothing.
    """
    config = current_app.config["LMS_CONFIG"]
    report = DeliveryReport()
    ids = _pending_ids(session, limit)
    session.commit()  # start each claim in a fresh transaction
    smtp: smtplib.SMTP | None = None
    try:
        for position, msg_id in enumerate(ids):
            claimed = _claim(session, msg_id)
            if claimed is None:
                session.rollback()
                continue
            msg, user = claimed
            if not user.active:
                msg.sent_at = utcnow()
                msg.last_error = INACTIVE
                session.commit()
                report.skipped += 1
                continue
            try:
                email = build_email(msg, user, config)
            except ValueError as err:  # an address or header the mail format cannot carry
                _failed(session, msg, err, report)
                continue
            if not config.mail_server:
                _log(msg, user, email)
                msg.sent_at = utcnow()
                session.commit()
                report.sent += 1
                continue
            if smtp is None:
                try:
                    smtp = smtplib.SMTP(config.mail_server, config.mail_port, timeout=SMTP_TIMEOUT)
                except (OSError, smtplib.SMTPException) as err:  # unreachable: stop the run
                    _failed(session, msg, err, report)
                    report.deferred = len(ids) - position - 1
                    break
            try:
                smtp.send_message(email, from_addr=config.mail_sender, to_addrs=[user.email])
            except _MESSAGE_ERRORS as err:
                _failed(session, msg, err, report)
            except (OSError, smtplib.SMTPException) as err:  # the connection broke
                _failed(session, msg, err, report)
                _close(smtp)
                smtp = None
            else:
                msg.sent_at = utcnow()
                msg.last_error = ""
                session.commit()
                report.sent += 1
    finally:
        session.rollback()  # release a claim left by an unexpected error
        if smtp is not None:
            _close(smtp)
    return report


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
