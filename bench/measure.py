"""The benchmark's measuring instruments (standard library only, Linux /proc where needed).

* ``StatementCounter``: SQL statements sent through an engine, counted in-process with a
  SQLAlchemy event listener;
* ``Snapshot`` / ``LoadSampler``: the load average and the CPU time of the whole machine and of
  the benchmark's own processes, so that a figure can be marked as taken while other programs
  were busy on the same cores;
* ``peak_rss_kb`` / ``children``: the peak memory (VmHWM) of the web server's workers;
* ``parse_size``: the ``SIZE=`` of `make bench`.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PROC = "/proc"
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
OTHERS_BUSY_CORES = 0.5  # other programs using more than half a core on average: "under load"


def parse_size(text: str) -> int:
    """The number of employees of a run: digits, optionally with ``,``/``_`` or a ``k``
    (``50000``, ``50,000``, ``50k``); at least 20."""
    raw = text.strip().lower().replace(",", "").replace("_", "")
    factor = 1
    if raw.endswith("k"):
        raw, factor = raw[:-1], 1000
    if not raw.isdigit():
        raise ValueError(f"SIZE must be a number of employees such as 5000 or 50k, not {text!r}")
    size = int(raw) * factor
    if size < 20:
        raise ValueError(f"SIZE must be at least 20 employees, not {size}")
    return size


def small_size(size: int) -> int:
    """The small size the SQL statement counts are compared against."""
    return 500 if size > 500 else max(10, size // 5)


class StatementCounter:
    """Counts the SQL statements an engine sends (``before_cursor_execute``), while attached.

    >>> with StatementCounter(engine) as counter:
    ...     client.get("/page")
    >>> counter.count
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []
        self.keep = False

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append(statement)

    def reset(self) -> None:
        self.count = 0
        self.statements = []

    def __enter__(self) -> StatementCounter:
        import sqlalchemy as sa

        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


# ----- processes -------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used by the process and by its children that ended and were
    waited for) from /proc/<pid>/stat."""
    try:
        with open(f"{PROC}/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state; ppid is field 4 of the file, utime/stime/cutime/cstime 14-17
    return int(fields[1]), sum(int(v) for v in fields[11:15])


def _all_stats() -> dict[int, tuple[int, int]]:
    out = {}
    for name in os.listdir(PROC):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def tree(roots: Iterable[int], stats: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """The given processes and all their descendants (still running)."""
    stats = _all_stats() if stats is None else stats
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _ticks) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += kids.get(pid, [])
    return found


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers of its master)."""
    return sorted(p for p, (ppid, _t) in _all_stats().items() if ppid == pid)


def status_kb(pid: int, key: str) -> int | None:
    """A ``kB`` line of /proc/<pid>/status (``VmHWM`` peak resident memory, ``VmRSS``)."""
    try:
        with open(f"{PROC}/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_kb(pids: Iterable[int]) -> dict[int, int]:
    """{pid: VmHWM in kB} of the processes still running."""
    out = {}
    for pid in pids:
        value = status_kb(pid, "VmHWM")
        if value is not None:
            out[pid] = value
    return out


# ----- load ------------------------------------------------------------------------------------


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, all cores."""
    with open(f"{PROC}/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic()
    load1: float
    busy: int  # CPU ticks of the whole machine
    total: int
    own: int  # CPU ticks of the benchmark's processes (and of the children they waited for)


@dataclass
class Window:
    """CPU use between two snapshots: the machine's, the benchmark's and the others'."""

    seconds: float = 0.0
    busy: int = 0
    own: int = 0
    load1: list[float] = field(default_factory=list)

    def add(self, a: Snapshot, b: Snapshot) -> None:
        self.seconds += b.at - a.at
        self.busy += b.busy - a.busy
        self.own += b.own - a.own
        self.load1 += [a.load1, b.load1]

    @property
    def cpu_cores(self) -> float:
        """Cores busy on average (the whole machine)."""
        return self.busy / TICK / self.seconds if self.seconds else 0.0

    @property
    def others_cores(self) -> float:
        """Cores used on average by processes that are not the benchmark's."""
        if not self.seconds:
            return 0.0
        return max(0.0, (self.busy - self.own) / TICK / self.seconds)

    @property
    def under_load(self) -> bool:
        return self.others_cores > OTHERS_BUSY_CORES

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "cpu_cores": round(self.cpu_cores, 2),
            "others_cores": round(self.others_cores, 2),
            "load1_max": round(max(self.load1), 2) if self.load1 else None,
            "under_load": self.under_load,
        }


class LoadSampler:
    """Snapshots of the machine's load on demand (``snapshot()``, cheap enough to take around
    every batch of requests) and every ``interval`` seconds in a thread while running, so that
    the whole run's load is kept, not only its ends. ``roots``: the benchmark's own processes
    (their descendants are found on each snapshot), e.g. this process and the PostgreSQL
    server it started."""

    def __init__(self, roots: Callable[[], Iterable[int]], interval: float = 2.0) -> None:
        self.roots = roots
        self.interval = interval
        self.samples: list[Snapshot] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._gone = 0  # ticks of our processes that ended without a parent of ours
        self._last: dict[int, tuple[int, int]] = {}  # pid: (ppid, ticks)

    def snapshot(self) -> Snapshot:
        with self._lock:
            stats = _all_stats()
            busy, total = _cpu_ticks()
            ours = tree(self.roots(), stats)
            now = {pid: stats[pid] for pid in ours}
            # a process of ours that ended: a parent of ours that waited for it counts its
            # ticks from now on (cutime); one without such a parent keeps its last ticks
            self._gone += sum(
                t for pid, (ppid, t) in self._last.items() if pid not in now and ppid not in now
            )
            self._last = now
            # this process's own children (the `flask lms` commands) count through its own
            # entry's cutime; its threads' ticks through utime
            own = self._gone + sum(t for _ppid, t in now.values())
            load1 = os.getloadavg()[0]
            return Snapshot(time.monotonic(), load1, busy, total, own)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.snapshot())

    def __enter__(self) -> LoadSampler:
        self.samples.append(self.snapshot())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(self.snapshot())

    def summary(self) -> dict[str, Any]:
        """The whole run: load average min/median/max, and CPU use of the others."""
        loads = [round(s.load1, 2) for s in self.samples]
        whole = Window()
        if len(self.samples) > 1:
            whole.add(self.samples[0], self.samples[-1])
        busy_windows = 0
        for a, b in zip(self.samples, self.samples[1:], strict=False):
            w = Window()
            w.add(a, b)
            busy_windows += w.under_load
        return {
            "samples": len(self.samples),
            "load1_min": min(loads) if loads else None,
            "load1_median": statistics.median(loads) if loads else None,
            "load1_max": max(loads) if loads else None,
            "others_cores": round(whole.others_cores, 2),
            "windows_under_load": busy_windows,
            "windows": max(len(self.samples) - 1, 0),
        }
