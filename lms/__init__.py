"""Brigade: fire-safety and workplace-safety training records."""

from __future__ import annotations

from flask import Flask

from lms.config import ROOT, Config


def create_app(config: Config | None = None) -> Flask:
    """Build the application from a typed config (by default, from the environment)."""
    config = config or Config.from_env()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(config.flask_settings())
    app.config.update(config.extra)
    config.warn_about_development_key(app.logger)

    from lms import web

    web.init_app(app)
    return app
