"""Settings from environment variables, typed, with a safe development default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


# Published in the source: whoever reads it can sign cookies (and so sign in as anyone).
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """The configuration cannot start the application."""


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
    ratelimit_storage_url: str = "memory://"
    login_limit: str = "10 per minute"
    session_idle_minutes: int = 60
    redis_url: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_sender: str = "brigade@localhost"
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
            ratelimit_storage_url=env.get(
                "LMS_RATELIMIT_STORAGE_URL", env.get("LMS_REDIS_URL", "memory://")
            ),
            login_limit=env.get("LMS_LOGIN_LIMIT", cls.login_limit),
            session_idle_minutes=_whole_number(
                env.get("LMS_SESSION_IDLE_MINUTES"), cls.session_idle_minutes
            ),
            redis_url=env.get("LMS_REDIS_URL"),
            mail_server=env.get("LMS_MAIL_SERVER"),
            mail_port=int(env.get("LMS_MAIL_PORT", "25")),
            mail_sender=env.get("LMS_MAIL_SENDER", cls.mail_sender),
        )
        return cfg

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
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
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
