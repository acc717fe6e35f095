"""Brigade: fire-safety and workplace-safety training records."""

from __future__ import annotations

import sys

from flask import Flask

from lms.config import ROOT, Config, ConfigError

EXIT_CONFIG = 4  # gunicorn's "app failed to load": the arbiter stops instead of respawning


def create_app(config: Config | None = None) -> Flask:
    """Build the application from a typed config (by default, from the environment).

    Built from the environment (the CLI, gunicorn, a job worker), a configuration that cannot
    work (no secret key in production, Redis unreachable...) ends the process with one line
    and exit code 4 instead of a traceback."""
    if config is None:
        try:
            return _create_app(Config.from_env())
        except ConfigError as err:
            print(f"brigade: {err}", file=sys.stderr)
            raise SystemExit(EXIT_CONFIG) from None
    return _create_app(config)


def _create_app(config: Config) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(config.flask_settings())
    app.config.update(config.extra)

    # the wiring is loaded when an app is built, not when any lms module is imported (a model
    # in a migration, a job in a worker): importing it above would load every room first
    from lms import web
    from lms.compliance import regimes
    from lms.core import seal

    try:
        regimes.init_app(app, config.regimes)  # every regime file valid, or nothing starts
    except regimes.RegimeError as err:
        raise ConfigError(str(err)) from None
    web.init_app(app)  # first: a configuration that cannot work (Redis away) stops here
    config.warn_about_development_key(app.logger)
    seal.init_app(app, config)
    return app
