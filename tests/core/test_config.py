import pytest

from lms import create_app
from lms.config import Config, ConfigError


def test_production_without_secret_key_refuses_to_start():
    with pytest.raises(ConfigError, match="LMS_SECRET_KEY"):
        create_app(Config(env="production", secret_key=None, database_url="sqlite://"))


def test_environment_is_read():
    cfg = Config.from_env(
        {
            "LMS_DATABASE_URL": "sqlite:///x.db",
            "LMS_SECRET_KEY": "k",
            "LMS_ENV": "production",
            "LMS_TIMEZONE": "UTC",
        }
    )
    settings = cfg.flask_settings()
    assert settings["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x.db"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert cfg.timezone == "UTC"


def test_development_default_is_sqlite_under_instance():
    cfg = Config.from_env({})
    assert cfg.database_url.startswith("sqlite:///") and cfg.database_url.endswith(
        "instance/lms.db"
    )
