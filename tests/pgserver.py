"""A throwaway PostgreSQL server for the test session.

We start it ourselves rather than with pytest-postgresql because CI runs as root and
PostgreSQL refuses to run as root: as root we hand the data directory to the ``postgres``
system user and start the server through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def _bindir() -> str:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    path = shutil.which("pg_ctl")
    if path:
        return os.path.dirname(path)
    raise RuntimeError(
        "PostgreSQL binaries not found; run `make deps` (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.dir = tempfile.mkdtemp(prefix="brigade-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            self.data,
            "-o",
            opts,
            "-w",
            "-l",
            os.path.join(self.dir, "log"),
            "start",
        )
        self._run(
            f"{self.bindir}/createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "brigade_test",
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/brigade_test"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        for _ in range(20):
            try:
                shutil.rmtree(self.dir)
                break
            except OSError:
                time.sleep(0.1)
