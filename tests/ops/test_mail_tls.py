"""Mail that gets through: STARTTLS and TLS with log-in, against a real aiosmtpd server with a
self-signed certificate made for the test; a wrong password is reported once per run."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from lms.compliance import mail
from lms.core import outbox
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from tests.redisserver import free_port

USER, PASSWORD = "brigade", "s3cret-mail"

# aiosmtpd cannot tell that an implicit-TLS connection is encrypted and warns about AUTH
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl, as an organisation's own CA would)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Server:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        )
        self.logins.append("ok" if ok else "refused")
        return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["starttls", "tls"])
def smtp_server(request, app, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Server()
    port = free_port()
    kwargs = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": handler.authenticate,
        "auth_required": True,
    }
    if request.param == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    else:
        # implicit TLS: the whole connection is encrypted, though aiosmtpd cannot tell
        kwargs.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(handler, **kwargs)
    controller.start()
    config = app.config["LMS_CONFIG"]
    saved = {k: getattr(config, k) for k in _MAIL_KEYS}
    config.mail_server, config.mail_port = "127.0.0.1", port
    config.mail_use_tls, config.mail_ca_file = request.param, str(cert)
    config.mail_username, config.mail_password = USER, PASSWORD
    yield handler
    for k, v in saved.items():
        setattr(config, k, v)
    controller.stop()


_MAIL_KEYS = (
    "mail_server",
    "mail_port",
    "mail_use_tls",
    "mail_ca_file",
    "mail_username",
    "mail_password",
)


def queue_for(make_user, n: int) -> None:
    for i in range(n):
        user = make_user(name=f"Person {i}", email=f"p{i}@example.test")
        outbox.queue(db.session, user_id=user.id, kind="test", subject=f"Hello {i}", body="Hi")
    db.session.commit()


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_mail_goes_out_over_tls_with_log_in(smtp_server, make_user):
    queue_for(make_user, 3)
    report = mail.deliver_pending(db.session)
    assert report.sent == 3 and not report.server_error
    assert sorted(str(m["Subject"]) for m in smtp_server.received) == [
        "Hello 0",
        "Hello 1",
        "Hello 2",
    ]
    assert smtp_server.logins[-1] == "ok" and "refused" not in smtp_server.logins
    assert all(r.sent_at is not None for r in rows())


def test_a_wrong_password_is_reported_once_not_per_message(
    smtp_server, make_user, app, caplog, runner
):
    app.config["LMS_CONFIG"].mail_password = "wrong"
    queue_for(make_user, 4)
    result = runner.invoke(args=["lms", "send-reminders", "--date", "2026-01-05"])
    assert result.exit_code == 1
    assert result.output.count("refused the log-in") == 1, result.output
    assert "not tried 4" in result.output
    # one log-in for the run (smtplib tries the server's mechanisms: PLAIN, then LOGIN), not one
    # per message
    assert set(smtp_server.logins) == {"refused"} and len(smtp_server.logins) <= 2
    assert smtp_server.received == []
    # nothing counted against the messages: they go out once the password is right
    assert all(r.sent_at is None and r.attempts == 0 and r.failed_at is None for r in rows())
    app.config["LMS_CONFIG"].mail_password = PASSWORD
    assert mail.deliver_pending(db.session).sent == 4


def test_an_untrusted_certificate_is_refused(smtp_server, make_user, app):
    app.config["LMS_CONFIG"].mail_ca_file = None  # the self-signed certificate is not trusted
    queue_for(make_user, 1)
    report = mail.deliver_pending(db.session)
    assert report.sent == 0 and "SSLCertVerificationError" in report.server_error
    assert smtp_server.received == []
