"""Settings from environment variables, typed, with a safe development default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


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
    redis_url: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_sender: str = "brigade@localhost"
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
            ratelimit_storage_url=env.get(
                "LMS_RATELIMIT_STORAGE_URL", env.get("LMS_REDIS_URL", "memory://")
            ),
            login_limit=env.get("LMS_LOGIN_LIMIT", cls.login_limit),
            redis_url=env.get("LMS_REDIS_URL"),
            mail_server=env.get("LMS_MAIL_SERVER"),
            mail_port=int(env.get("LMS_MAIL_PORT", "25")),
            mail_sender=env.get("LMS_MAIL_SENDER", cls.mail_sender),
            seal_file=env.get("LMS_SEAL_FILE") or None,
            seal_passphrase=env.get("LMS_SEAL_PASSPHRASE"),
            seal_optional=env.get("LMS_SEAL_OPTIONAL", "") in ("1", "true", "yes"),
            checkpoint_dir=env.get("LMS_CHECKPOINT_DIR") or None,
        )
        return cfg

    @property
    def checkpoint_folder(self) -> Path | None:
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        return None if self.testing else INSTANCE / "checkpoints"

    @property
    def production(self) -> bool:
        return self.env == "production"

    def flask_settings(self) -> dict:
        """Translate into the keys Flask and its extensions read."""
        if self.secret_key is None:
            if self.production:
                raise ConfigError(
                    "LMS_SECRET_KEY is not set. In production a secret key is required; "
                    "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
                )
            self.secret_key = "dev-only-secret-key-not-for-production"
        if self.default_locale not in self.locales:
            raise ConfigError(f"LMS_DEFAULT_LOCALE must be one of {', '.join(self.locales)}")
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "TESTING": self.testing,
            "WTF_CSRF_ENABLED": self.csrf_enabled,
            "WTF_CSRF_TIME_LIMIT": None,
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
