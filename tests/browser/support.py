"""Shared pieces of the browser tests and tests/browser/make_screenshot.py: Chromium launch
settings, a live server in a thread, log-in through the real form, and the axe-core check."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("LMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")


def launch_chromium(playwright):
    """Debian's Chromium: Playwright's own browser download is not available here."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class _QuietRequestHandler(WSGIRequestHandler):
    """Log only server errors, not every page, stylesheet and icon."""

    def log_request(self, code="-", size="-") -> None:
        if str(code).startswith("5"):
            super().log_request(code, size)


class LiveServer:
    """The app served by werkzeug from a daemon thread on a free port.

    Each request runs in its own app context (Flask pushes one per request), so the server
    thread never shares the test thread's database session. In-flight requests are counted so
    a test can wait until the server is idle before the tables are wiped (a request still
    holding a PostgreSQL transaction would block TRUNCATE).
    """

    def __init__(self, app) -> None:
        self.app = app
        self._busy = 0
        self._cond = threading.Condition()
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietRequestHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="brigade-live-server", daemon=True
        )

    def _wsgi(self, environ, start_response):
        with self._cond:
            self._busy += 1
        try:
            # Flask pops the request's app context (and removes its db session) before
            # returning the body iterable, so counting around this call is enough.
            return self.app(environ, start_response)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._busy == 0, timeout=timeout)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def sign_in(page, email: str, password: str) -> None:
    """Log in through the real form, as a person would."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), impact: n.impact,
                                html: n.html.slice(0, 160)})),
  }));
}"""


def axe_violations(page) -> list[dict[str, Any]]:
    """All WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS.relative_to(ROOT)} is missing: run `make browser-deps`")
    # a click may have started a navigation: check the page it leads to, once it has loaded
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(_RUN_AXE, WCAG_TAGS)


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}  {node['html']}")
    return "\n".join(lines)


class AccessibilityWarning(UserWarning):
    """A WCAG violation of minor or moderate impact: reported, not failed."""


def assert_accessible(page, what: str | None = None) -> None:
    """Run axe-core (WCAG 2.1 A and AA) and fail on any serious or critical violation,
    listing rule id, impact and the nodes; lesser violations become warnings."""
    violations = axe_violations(page)
    where = what or page.url
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, f"accessibility violations on {where}:\n{format_violations(bad)}"
    minor = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
    if minor:
        warnings.warn(
            f"lesser accessibility violations on {where}:\n{format_violations(minor)}",
            AccessibilityWarning,
            stacklevel=2,
        )
