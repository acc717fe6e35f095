"""Make docs/screenshot.png: the administrator's start page in the demo organisation.

Not a test. Run it by hand after a visible change to the start page:

    .venv/bin/python -m tests.browser.make_screenshot [--lang en|lv|ru] [--output PATH]

It loads the demo (``flask lms demo``) into a throwaway SQLite database, serves the app on a
free port, signs in as the demo administrator through the log-in form and saves a 1280x800
screenshot with Debian's Chromium.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.browser.support import ROOT, VIEWPORT, LiveServer, launch_chromium, sign_in

DEMO_PASSWORD = "brigade-demo"


def build_app(database_url: str, lang: str):
    from lms import create_app
    from lms.config import Config
    from lms.demo import email_for, load_demo
    from lms.extensions import db

    config = Config(
        secret_key="screenshot-only",
        database_url=database_url,
        extra={"LMS_PASSWORD_METHOD": "pbkdf2:sha256:1000"},
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        load_demo(db.session, password=DEMO_PASSWORD, echo=lambda _msg: None)
        from lms.accounts import services

        admin = services.find_by_email(db.session, email_for("admin"))
        admin.locale = lang  # the demo administrator reads Latvian; README is in English
        db.session.commit()
        email = admin.email
    return app, email


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en", choices=["en", "lv", "ru"])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="brigade-screenshot-") as tmp:
        app, email = build_app(f"sqlite:///{Path(tmp) / 'demo.db'}", args.lang)
        server = LiveServer(app).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(
                    base_url=server.url,
                    viewport=VIEWPORT,
                    device_scale_factor=1,
                    locale="en-US",
                    extra_http_headers={"Accept-Language": "en"},
                )
                page = context.new_page()
                sign_in(page, email, DEMO_PASSWORD)
                assert page.url.rstrip("/") == server.url, f"sign-in failed: {page.url}"
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output))
                browser.close()
        finally:
            server.stop()
            from lms.extensions import db

            with app.app_context():
                db.engine.dispose()
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()
