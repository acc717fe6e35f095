"""The benchmark's own instruments (bench/measure.py, bench/run.py), without running it."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import measure, run
from bench.generate import Generator
from bench.generate.cli import Progress
from lms.core import ledger
from lms.extensions import db
from lms.learning.models import Attempt
from lms.sessions.models import Enrolment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "size"), [("5000", 5000), ("50,000", 50000), ("50k", 50000), (" 20 ", 20)]
)
def test_size_is_read_as_people_count(text, size):
    assert measure.parse_size(text) == size
    assert run.size_arg(text) == size


@pytest.mark.parametrize("text", ["", "abc", "5e4", "-500", "19", "0k"])
def test_bad_size_is_refused_with_a_message(text):
    with pytest.raises(ValueError, match="SIZE must be"):
        measure.parse_size(text)
    with pytest.raises(argparse.ArgumentTypeError):
        run.size_arg(text)


def test_small_size_compared_against():
    assert measure.small_size(50000) == 500
    assert measure.small_size(5000) == 500
    assert measure.small_size(200) == 40
    assert measure.small_size(20) == 10


def test_make_bench_passes_size_and_database():
    out = subprocess.run(
        ["make", "-n", "bench", "DB=postgresql", "SIZE=50000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "bench/run.py --db postgresql --size 50000" in out
    default = subprocess.run(
        ["make", "-n", "bench"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "bench/run.py --db sqlite --size 5000" in default


def test_results_sections_per_database_and_size():
    assert run.section_key("sqlite", 5000) == "sqlite"
    assert run.section_key("postgresql", 5000) == "postgresql"
    assert run.section_key("postgresql", 50000) == "postgresql-50000"
    assert run.section_key("sqlite", 5000, "after") == "sqlite-after"


def test_statement_counter_counts_while_attached(app):
    with measure.StatementCounter(db.engine) as counter:
        db.session.execute(sa.select(sa.literal(1))).scalar()
        db.session.execute(sa.select(sa.func.count()).select_from(Enrolment)).scalar()
        seen = counter.count
    assert seen == 2
    db.session.execute(sa.select(sa.literal(1))).scalar()
    assert counter.count == 2  # detached: no longer counting
    counter.reset()
    assert counter.count == 0


def test_statement_counter_sees_the_queries_of_a_page(client, login_as, make_user):
    """The count for a page is the same for the same page, and more people do not change it
    (the property the benchmark checks at two sizes), here for the account page."""
    login_as("employee")
    client.get("/account")
    with measure.StatementCounter(db.engine) as counter:
        assert client.get("/account").status_code == 200
        first = counter.count
        for _ in range(5):
            make_user()
        counter.reset()
        assert client.get("/account").status_code == 200
    assert first > 0 and counter.count == first


def _burn(seconds: float) -> None:
    started = time.process_time()
    while time.process_time() - started < seconds:
        pass


def test_load_sampler_counts_our_own_cpu_apart_from_others():
    sampler = measure.LoadSampler(lambda: [os.getpid()])
    before = sampler.snapshot()
    _burn(0.6)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time\nt=time.process_time()\nwhile time.process_time()-t<0.5: pass",
        ],  # fmt: skip
        check=True,
    )
    assert child.returncode == 0
    after = sampler.snapshot()
    own_s = (after.own - before.own) / measure.TICK
    assert own_s >= 1.0  # this process and the child it waited for
    window = measure.Window()
    window.add(before, after)
    assert window.seconds > 0
    assert window.cpu_cores * window.seconds >= 1.0 * 0.9
    others = window.others_cores
    assert 0.0 <= others <= (os.cpu_count() or 1)
    assert window.under_load == (others > measure.OTHERS_BUSY_CORES)
    result = window.as_dict()
    assert result["under_load"] == window.under_load and result["load1_max"] >= 0


def test_a_window_marks_other_programs_busy():
    """Other programs' CPU = the machine's minus ours: marked above half a core."""
    a = measure.Snapshot(at=0.0, load1=1.0, busy=0, total=0, own=0)
    busy = measure.Snapshot(at=10.0, load1=3.0, busy=20 * measure.TICK, total=0, own=0)
    w = measure.Window()
    w.add(a, measure.Snapshot(10.0, 1.2, 10 * measure.TICK, 0, 10 * measure.TICK - 1))
    assert not w.under_load
    w2 = measure.Window()
    w2.add(a, busy)
    assert w2.under_load and w2.others_cores == pytest.approx(2.0)
    assert run._load_note(w2.as_dict()).startswith("**under load** (2.0 / 3.0)")
    assert run._load_note(w.as_dict()).startswith("quiet (")


def test_load_sampler_samples_during_the_run_not_only_at_its_ends():
    sampler = measure.LoadSampler(lambda: [os.getpid()], interval=0.1)
    with sampler:
        _burn(0.5)
    assert len(sampler.samples) >= 4
    summary = sampler.summary()
    assert summary["samples"] == len(sampler.samples)
    assert summary["windows"] == len(sampler.samples) - 1
    assert summary["load1_min"] <= summary["load1_median"] <= summary["load1_max"]


def test_process_tree_and_peak_memory_of_children():
    proc = subprocess.Popen([sys.executable, "-c", "import time; x = b'x' * 30_000_000; "
                             "time.sleep(30)"])  # fmt: skip
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            rss = measure.peak_rss_kb([proc.pid]).get(proc.pid, 0)
            if rss > 30_000:
                break
            time.sleep(0.1)
        assert proc.pid in measure.children(os.getpid())
        assert proc.pid in measure.tree([os.getpid()])
        assert rss > 30_000  # the 30 MB it holds, in kB
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in measure.peak_rss_kb([proc.pid])


def test_requests_per_page_fit_the_time_budget():
    assert run.requests_for(0.01, 200, 16, 60) == 200
    assert run.requests_for(20.0, 200, 16, 60) == 16  # a slow page: the floor of requests
    assert run.requests_for(2.0, 200, 16, 60) == 60  # 60 s on two workers
    assert run.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert run.percentile([1.0] * 19 + [9.0], 0.95) == 1.0


def test_progress_prints_each_stage_and_each_tenth_to_stderr():
    out = io.StringIO()
    progress = Progress(out)
    progress("people", 0.0)
    for i in range(101):
        progress("history", i / 100)
    progress("status", 1.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 11 + 1
    assert "departments and people" in lines[0]
    assert lines[-1].startswith("[" + "#" * 20 + "]") and "100%" in lines[-1]


def test_generator_writes_in_batches_with_the_same_result(app, monkeypatch):
    """With a tiny batch the history is written in many flushes: every table holds what the
    counts say, and the ledger over it verifies."""
    monkeypatch.setattr("bench.generate.history.FLUSH_ROWS", 300)
    monkeypatch.setattr("bench.generate.base.FLUSH_ROWS", 300)
    seen: list[str] = []
    flushes = {"n": 0}
    flush = Generator.flush_history

    def counted(self) -> None:
        flushes["n"] += 1
        flush(self)

    monkeypatch.setattr(Generator, "flush_history", counted)
    counts = Generator(
        db.session,
        employees=60,
        programs=5,
        years=2,
        seed=5,
        progress=lambda stage, _f: seen.append(stage),
    ).run()
    db.session.commit()
    assert flushes["n"] > 3 and counts.ledger > 300  # many flushes of each
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) >= (
        counts.enrolments
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) >= counts.attempts
    assert ledger.verify(db.session).ok
    assert {"people", "programs", "plan", "history", "ledger"} <= set(seen)
