"""Real processes for the cluster tests: gunicorn servers and Huey workers on the test's
PostgreSQL and Redis, and a small HTTP client that keeps its cookies and forms' CSRF tokens."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from tests.redisserver import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


class Process:
    """A child in its own process group: SIGKILL takes it and whatever it forked."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log: Path, stop_signal: int = 0
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal or signal.SIGTERM
        self.log = log
        self._log = open(log, "ab")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill(self.stop_signal)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait()
        self.kill(signal.SIGKILL)  # anything the process left behind in its group
        self._log.close()


class Node:
    """A gunicorn server on a free port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.process = Process(
            name,
            [
                str(BIN / "gunicorn"),
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--preload",  # import the app once, then fork: quicker start on a small machine
                "wsgi:app",
            ],
            env,
            log_dir / f"{name}.log",
            stop_signal=signal.SIGQUIT,  # gunicorn: quick shutdown (SIGTERM waits for requests)
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.proc.poll() is not None:
                raise RuntimeError(f"{self.process.name} exited: {self.process.log.read_text()}")
            with contextlib.suppress(OSError):
                if Browser(self).get("/readyz")[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.process.name} not ready: {self.process.log.read_text()}")


def worker(name: str, env: dict[str, str], log_dir: Path) -> Process:
    return Process(
        name,
        [str(BIN / "huey_consumer"), "lms.worker.huey", "-w", "1", "-k", "thread"],
        env,
        log_dir / f"{name}.log",
    )


class Browser:
    """One person's browser against one node (or another: ``on(node)`` keeps the cookies)."""

    def __init__(self, node: Node, address: str = "") -> None:
        self.node = node
        self.address = address  # as the proxy would report it (X-Forwarded-For)
        self.cookies: dict[str, str] = {}
        self.last_bytes = b""

    def on(self, node: Node) -> Browser:
        other = Browser(node, self.address)
        other.cookies = self.cookies
        return other

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=120)
        headers = {"Accept-Language": "en"}
        if self.address:
            headers["X-Forwarded-For"] = self.address
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.last_bytes = data
            for key, value in resp.getheaders():
                if key.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return resp.status, data.decode("utf-8", "replace"), dict(resp.getheaders())
        finally:
            conn.close()

    def get(self, path: str):
        return self.request("GET", path)

    def token_of(self, path: str) -> str:
        """The CSRF token of a form on the page."""
        _status, page, _h = self.get(path)
        match = CSRF_RE.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post(self, path: str, form: dict | None = None, token_from: str | None = None):
        """POST with the CSRF token of the page ``token_from`` (default: the same path)."""
        token = self.token_of(token_from or path)
        return self.request("POST", path, {**(form or {}), "csrf_token": token})

    def login(self, email: str, password: str):
        return self.post("/login", {"email": email, "password": password})
