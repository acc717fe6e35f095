"""Settings from environment variables, typed, with a safe development default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from lms.core.errors import ConfigError  # noqa: F401  (raised here, caught by the app)

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _int(env, name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _flag(env, name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _tls_mode(raw: str) -> str:
    value = raw.strip().lower()
    if value in ("", "0", "no", "false", "off", "none"):
        return ""
    if value in ("1", "yes", "true", "on", "starttls"):
        return "starttls"
    if value in ("tls", "ssl", "smtps"):
        return "tls"
    raise ConfigError(f"LMS_MAIL_USE_TLS must be starttls, tls or empty, not {raw!r}")


# Published in the source: whoever reads it can sign cookies (and so sign in as anyone).
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"


@dataclass
class Config:
    """Everything the application reads from the outside world."""

    env: str = "development"
    secret_key: str | None = None
    database_url: str = f"sqlite:///{INSTANCE / 'lms.db'}"
    organisation_name: str = "Brigade Demo Ltd"
    base_url: str = "http://127.0.0.1:5000"
    timezone: str = "Europe/Riga"
    default_locale: str = "lv"
    locales: tuple[str, ...] = ("lv", "en", "ru")
    ratelimit_storage_url: str = ""  # empty: Redis when set, else a file shared by all workers
    login_limit: str = "10 per minute"
    session_idle_minutes: int = 60
    redis_url: str | None = None
    trusted_proxies: int = 0  # proxy hops in front of the app (X-Forwarded-For etc.)
    jobs_immediate: bool = False  # run jobs in-process at once (tests, one-off scripts)
    job_lease_seconds: int = 60  # a running job unheard of for this long is retried
    job_max_attempts: int = 3
    export_dir: str = str(INSTANCE / "exports")  # shared by all nodes when scaled out
    mail_server: str | None = None
    mail_port: int = 25
    mail_sender: str = "brigade@localhost"
    # hours before an exam by which the technicians must have checked the software
    exam_software_check_hours: int = 2
    # the regimes the organisation works under (files in lms/compliance/regimes)
    regimes: tuple[str, ...] = ("LV-OHS", "LV-FIRE")
    mail_use_tls: str = ""  # "", "starttls" or "tls" (implicit TLS, usually port 465)
    mail_username: str | None = None
    mail_password: str | None = None
    mail_ca_file: str | None = None  # a CA bundle to trust for the mail server (own CA)
    mail_max_attempts: int = 5  # then a message is set aside as failed for the admin
    mail_backoff_minutes: int = 5  # first retry after this, doubling each time
    log_json: bool = False
    # the organisation seal (PKCS#12) on issued PDFs; optional: PDFs may go out unsealed when
    # the seal cannot be loaded
    seal_file: str | None = None
    seal_passphrase: str | None = None
    seal_optional: bool = False
    # where daily ledger checkpoints are written and read by `flask lms verify` (None:
    # instance/checkpoints, except in tests, which name their own)
    checkpoint_dir: str | None = None
    testing: bool = False
    csrf_enabled: bool = True
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        cfg = cls(
            env=env.get("LMS_ENV", "development"),
            secret_key=env.get("LMS_SECRET_KEY"),
            database_url=env.get("LMS_DATABASE_URL", cls.database_url),
            organisation_name=env.get("LMS_ORGANISATION", cls.organisation_name),
            base_url=env.get("LMS_BASE_URL", cls.base_url).rstrip("/"),
            timezone=env.get("LMS_TIMEZONE", cls.timezone),
            default_locale=env.get("LMS_DEFAULT_LOCALE", cls.default_locale),
            ratelimit_storage_url=env.get("LMS_RATELIMIT_STORAGE_URL", ""),
            login_limit=env.get("LMS_LOGIN_LIMIT", cls.login_limit),
            session_idle_minutes=_whole_number(
                env.get("LMS_SESSION_IDLE_MINUTES"), cls.session_idle_minutes
            ),
            redis_url=env.get("LMS_REDIS_URL") or None,
            trusted_proxies=_int(env, "LMS_TRUSTED_PROXIES", 0),
            jobs_immediate=_flag(env, "LMS_JOBS_IMMEDIATE"),
            job_lease_seconds=_int(env, "LMS_JOB_LEASE_SECONDS", cls.job_lease_seconds),
            job_max_attempts=_int(env, "LMS_JOB_MAX_ATTEMPTS", cls.job_max_attempts),
            export_dir=env.get("LMS_EXPORT_DIR", cls.export_dir),
            mail_server=env.get("LMS_MAIL_SERVER") or None,
            mail_port=_int(env, "LMS_MAIL_PORT", 25),
            mail_sender=env.get("LMS_MAIL_SENDER", cls.mail_sender),
            exam_software_check_hours=int(env.get("LMS_EXAM_SOFTWARE_CHECK_HOURS", "2")),
            regimes=tuple(
                c.strip() for c in env.get("LMS_REGIMES", "LV-OHS,LV-FIRE").split(",") if c.strip()
            ),
            mail_use_tls=_tls_mode(env.get("LMS_MAIL_USE_TLS", "")),
            mail_username=env.get("LMS_MAIL_USERNAME") or None,
            mail_password=env.get("LMS_MAIL_PASSWORD") or None,
            mail_ca_file=env.get("LMS_MAIL_CA_FILE") or None,
            mail_max_attempts=_int(env, "LMS_MAIL_MAX_ATTEMPTS", cls.mail_max_attempts),
            mail_backoff_minutes=_int(env, "LMS_MAIL_BACKOFF_MINUTES", cls.mail_backoff_minutes),
            log_json=_flag(env, "LMS_LOG_JSON"),
            seal_file=env.get("LMS_SEAL_FILE") or None,
            seal_passphrase=env.get("LMS_SEAL_PASSPHRASE"),
            seal_optional=env.get("LMS_SEAL_OPTIONAL", "") in ("1", "true", "yes"),
            checkpoint_dir=env.get("LMS_CHECKPOINT_DIR") or None,
        )
        return cfg

    @property
    def ratelimit_storage(self) -> str:
        """Where rate-limit counters live: shared by every web process, never per-process."""
        if self.ratelimit_storage_url:
            return self.ratelimit_storage_url
        if self.redis_url:
            return self.redis_url
        return f"brigade-sqlite:///{INSTANCE / 'ratelimit.db'}"

    @property
    def checkpoint_folder(self) -> Path | None:
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        return None if self.testing else INSTANCE / "checkpoints"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def uses_development_key(self) -> bool:
        return self.secret_key in (None, DEV_SECRET_KEY)

    def warn_about_development_key(self, logger: logging.Logger) -> bool:
        """Outside production, say so at start-up when cookies are signed with the published
        development key (anyone could forge a session). True when it warned."""
        if self.production or self.testing or not self.uses_development_key:
            return False
        logger.warning(
            "Cookies are signed with the published development key (LMS_SECRET_KEY unset or "
            "equal to it), so anyone can forge a session. Set LMS_SECRET_KEY to a random value "
            "(make run keeps one in instance/secret_key)."
        )
        return True

    def flask_settings(self) -> dict:
        """Translate into the keys Flask and its extensions read."""
        if self.secret_key is None:
            if self.production:
                raise ConfigError(
                    "LMS_SECRET_KEY is not set. In production a secret key is required; "
                    "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
                )
            self.secret_key = DEV_SECRET_KEY
        elif self.production and self.secret_key == DEV_SECRET_KEY:
            raise ConfigError(
                "LMS_SECRET_KEY is the published development key. In production set a secret "
                "one: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if self.session_idle_minutes < 1:
            raise ConfigError(
                "LMS_SESSION_IDLE_MINUTES must be a whole number of minutes, 1 or more"
            )
        if self.default_locale not in self.locales:
            raise ConfigError(f"LMS_DEFAULT_LOCALE must be one of {', '.join(self.locales)}")
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "TESTING": self.testing,
            "WTF_CSRF_ENABLED": self.csrf_enabled,
            # a form's token expires with the session it was drawn in (idle time)
            "WTF_CSRF_TIME_LIMIT": self.session_idle_minutes * 60,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.production,
            "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
            "BABEL_DEFAULT_LOCALE": self.default_locale,
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
            "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage,
            "RATELIMIT_HEADERS_ENABLED": True,
            "LMS_CONFIG": self,
        }


def _whole_number(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as err:
        raise ConfigError(f"expected a whole number, got {value!r}") from err
