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

Delivery: ``LMS_MAIL_USE_TLS=starttls`` (upgrade a plain connection, usually port 587) or
``tls`` (TLS from the first byte, usually 465), with log-in when ``LMS_MAIL_USERNAME`` is set;
the server's certificate is checked (``LMS_MAIL_CA_FILE`` adds an organisation's own CA).

Failures:
- the server cannot be reached, refuses TLS or the log-in: the run stops at once, reports it
  once (one log line, in the report), and leaves every message as it was: the server is at
  fault, not the messages;
- a message refused for good (a 5xx reply: no such mailbox, or a message the format cannot
  carry) is set aside at once (``failed_at``): the admin lists it and can send it again;
- a message refused for now (4xx, the connection broke) is retried after a backoff
  (``LMS_MAIL_BACKOFF_MINUTES``, doubling), and set aside after ``LMS_MAIL_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
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
    set_aside: int = 0  # failed for good (or too often): moved aside for the admin
    server_error: str = ""  # why the server could not be used in this run (reported once)

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


def _due():
    """Queued, not set aside, and not waiting for its backoff to pass."""
    return sa.and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= utcnow()),
    )


def _pending_ids(session, limit: int) -> list[int]:
    return list(
        session.execute(
            sa.select(OutboxMessage.id).where(_due()).order_by(OutboxMessage.id).limit(limit)
        ).scalars()
    )


def _claim(session, msg_id: int) -> tuple[OutboxMessage, User] | None:
    """The message and its recipient, locked for this transaction, or None when it was sent
    meanwhile or another run holds it."""
    if session.get_bind().dialect.name == "sqlite":
        taken = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == msg_id, _due())
            .values(attempts=OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:
            return None
    row = session.execute(
        sa.select(OutboxMessage, User)
        .join(User, User.id == OutboxMessage.user_id)
        .where(OutboxMessage.id == msg_id, _due())
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


def _permanent(err: Exception) -> bool:
    """A refusal that trying again will not change (SMTP 5xx), or a message we cannot build."""
    if isinstance(err, ValueError):
        return True
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in err.recipients.values())
    code = getattr(err, "smtp_code", 0) or 0
    return code >= 500


def _failed(session, msg: OutboxMessage, err: Exception, report: DeliveryReport, config) -> None:
    msg.attempts = (msg.attempts or 0) + 1
    msg.last_error = f"{type(err).__name__}: {err}"[:500]
    if _permanent(err) or msg.attempts >= config.mail_max_attempts:
        msg.failed_at = utcnow()
        report.set_aside += 1
        current_app.logger.error(
            "mail: outbox #%s set aside after %s attempt(s) (%s)",
            msg.id,
            msg.attempts,
            msg.last_error,
        )
    else:
        backoff = config.mail_backoff_minutes * 2 ** (msg.attempts - 1)
        msg.next_attempt_at = utcnow() + timedelta(minutes=backoff)
        current_app.logger.warning(
            "mail: outbox #%s not delivered, next try in %s min (%s)",
            msg.id,
            backoff,
            msg.last_error,
        )
    session.commit()
    report.failed += 1


def connect(config) -> smtplib.SMTP:
    """An SMTP connection as configured: plain, STARTTLS or TLS, logged in when a user is set.
    Raises OSError or smtplib.SMTPException when the server cannot be used."""
    context = ssl.create_default_context(cafile=config.mail_ca_file or None)
    smtp: smtplib.SMTP
    if config.mail_use_tls == "tls":
        smtp = smtplib.SMTP_SSL(
            config.mail_server, config.mail_port, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        smtp = smtplib.SMTP(config.mail_server, config.mail_port, timeout=SMTP_TIMEOUT)
    try:
        if config.mail_use_tls == "starttls":
            smtp.starttls(context=context)
        if config.mail_username:
            smtp.login(config.mail_username, config.mail_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _server_unusable(err: Exception, config) -> str:
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return (
            f"the mail server {config.mail_server} refused the log-in of "
            f"{config.mail_username!r} ({err.smtp_code}); check LMS_MAIL_USERNAME and "
            "LMS_MAIL_PASSWORD"
        )
    return f"the mail server {config.mail_server}:{config.mail_port} cannot be used ({type(err).__name__}: {err})"


def deliver_pending(session, *, limit: int = 500) -> DeliveryReport:
    """Send up to ``limit`` queued messages (oldest first); commits once per message.

    A batch job, not a service: it commits the session it is given (first whatever is pending
    in it, then each message), so call it from the CLI or a job, never inside a request.

    A message is marked sent only after the SMTP server accepted it; see the module docstring
    for what happens when it is not. Deactivated recipients are marked done with last_error
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
                _failed(session, msg, err, report, config)
                continue
            if not config.mail_server:
                _log(msg, user, email)
                msg.sent_at = utcnow()
                session.commit()
                report.sent += 1
                continue
            if smtp is None:
                try:
                    smtp = connect(config)
                except (OSError, smtplib.SMTPException) as err:  # the server: stop the run
                    session.rollback()
                    report.server_error = _server_unusable(err, config)
                    report.deferred = len(ids) - position
                    current_app.logger.error(
                        "mail: %s; %s message(s) left queued", report.server_error, report.deferred
                    )
                    break
            try:
                smtp.send_message(email, from_addr=config.mail_sender, to_addrs=[user.email])
            except _MESSAGE_ERRORS as err:
                _failed(session, msg, err, report, config)
            except (OSError, smtplib.SMTPException) as err:  # the connection broke
                _failed(session, msg, err, report, config)
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


def set_aside_select():
    """Messages that failed for good, newest first (the admin's list)."""
    return (
        sa.select(OutboxMessage, User)
        .join(User, User.id == OutboxMessage.user_id)
        .where(OutboxMessage.failed_at.is_not(None), OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc())
    )


def send_again(session, msg_id: int) -> bool:
    """Put a set-aside message back in the queue (after the address was corrected)."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == msg_id,
            OutboxMessage.failed_at.is_not(None),
            OutboxMessage.sent_at.is_(None),
        )
        .values(failed_at=None, next_attempt_at=None, attempts=0)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return bool(result.rowcount)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
