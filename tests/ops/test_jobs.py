"""Export jobs: on Redis, crash-safe (lease, retry by another attempt, atomic ZIP), idempotent,
and a failure says why on the progress page."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms import jobs
from lms.completions import exports
from lms.completions.models import ExportJob
from lms.config import Config
from lms.core.model import utcnow
from lms.extensions import db
from tests.conftest import text_of


@pytest.fixture
def certificates(make_user, make_program):
    from lms.completions import services

    program = make_program(approved=True)
    for i in range(3):
        services.record_completion(
            db.session,
            user_id=make_user(name=f"Darbinieks {i}").id,
            version=program.current_version,
            completed_on=date(2026, 3, 2),
            earned_by="record",
            actor_id=None,
        )
    db.session.commit()
    return program


def new_job(user_id: int, program) -> ExportJob:
    stmt = exports.certificate_query(program_id=program.id, today=utcnow().date())
    job = exports.start_export(db.session, user_id, {"program_id": program.id}, stmt)
    db.session.commit()
    return job


def zip_names(path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return sorted(zf.namelist())


def test_an_export_runs_through_a_real_redis_queue(app, redis_server, certificates, make_user):
    """RedisHuey from the typed config: the task is serialised into Redis, taken off by a
    consumer (here: this process) and run."""
    huey = jobs.make_huey(Config(redis_url=redis_server.url))
    huey.flush()
    task = huey.task(name="export_certificates")(jobs.export_certificates.func)
    job = new_job(make_user("auditor").id, certificates)
    task(job.id, 1)
    assert huey.pending_count() == 1
    message = huey.dequeue()
    huey.execute(message)
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == "done" and job.attempts == 1
    assert len(zip_names(job.path)) == 3


def test_a_job_whose_worker_died_is_retried_and_makes_one_zip(app, certificates, make_user):
    job = new_job(make_user("auditor").id, certificates)
    # attempt 1 claimed the job, wrote half a ZIP and was killed: no heartbeat since
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job.id)
        .values(status="running", attempts=1, heartbeat_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    half = exports.export_path(job.id).with_name(f"certificates-{job.id}.1.999.part")
    half.parent.mkdir(parents=True, exist_ok=True)
    half.write_bytes(b"PK\x03\x04 half a zip")

    again = exports.recover_stalled(db.session)
    db.session.commit()
    assert again == [(job.id, 2)]
    assert exports.recover_stalled(db.session) == []  # a second sweep takes nothing
    jobs.export_certificates(job.id, 2)  # another worker
    jobs.export_certificates(job.id, 2)  # the same task delivered twice: nothing more
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == "done" and job.attempts == 2
    assert len(zip_names(job.path)) == 3
    assert list(exports.export_path(job.id).parent.glob(f"certificates-{job.id}.*")) == [
        exports.export_path(job.id)
    ]  # one ZIP, no part left


def test_a_live_worker_is_not_taken_over(app, certificates, make_user):
    job = new_job(make_user("auditor").id, certificates)
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job.id)
        .values(status="running", attempts=1, heartbeat_at=utcnow())
    )
    db.session.commit()
    assert exports.recover_stalled(db.session) == []


def test_a_superseded_attempt_stops_without_touching_the_job(app, certificates, make_user):
    job = new_job(make_user("auditor").id, certificates)
    lease = exports._Lease(job.id, 1)
    assert not lease.renew() and lease.lost  # attempt 1 does not own a queued job


def test_after_the_last_attempt_the_page_says_why(app, client, login_as, certificates):
    auditor = login_as("auditor")
    config = app.config["LMS_CONFIG"]
    job = new_job(auditor.id, certificates)
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job.id)
        .values(
            status="running",
            attempts=config.job_max_attempts,
            heartbeat_at=utcnow() - timedelta(seconds=config.job_lease_seconds + 1),
        )
    )
    db.session.commit()
    page = client.get(f"/auditor/exports/{job.id}")  # the person waiting notices
    text = text_of(page)
    assert "The export failed" in text
    assert f"the worker preparing it stopped {config.job_max_attempts} times" in text
    assert "Refresh" not in page.headers


def test_an_error_in_the_job_is_shown_with_its_reason(
    app, client, login_as, certificates, monkeypatch
):
    from lms.completions import certificates as certs

    def broken(chunk, **_kw):
        raise OSError("No space left on device")

    monkeypatch.setattr(certs, "render_many", broken)
    login_as("auditor")
    # the job raises (Huey logs it and may retry it); the page tells the person why
    client.post("/auditor/export", data={"program": certificates.id})
    [job] = db.session.execute(sa.select(ExportJob)).scalars()
    text = text_of(client.get(f"/auditor/exports/{job.id}"))
    assert "The export failed" in text and "No space left on device" in text
    assert not list(exports.export_path(0).parent.glob("*.part"))


def test_the_export_directory_comes_from_the_config(app, tmp_path):
    config = app.config["LMS_CONFIG"]
    saved = config.export_dir
    config.export_dir = str(tmp_path)
    try:
        assert exports.export_path(7) == tmp_path / "certificates-7.zip"
    finally:
        config.export_dir = saved
    assert dataclasses.replace(Config.from_env({"LMS_EXPORT_DIR": "/srv/x"})).export_dir == "/srv/x"


def test_zip_is_readable_when_downloaded(client, login_as, certificates):
    login_as("auditor")
    resp = client.post("/auditor/export", data={"program": certificates.id})
    data = client.get(resp.headers["Location"] + "/download").data
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 3


def test_an_export_whose_task_was_lost_is_sent_again(app, certificates, make_user):
    job = new_job(make_user("auditor").id, certificates)
    db.session.execute(
        sa.update(ExportJob)
        .where(ExportJob.id == job.id)
        .values(created_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    again = exports.recover_stalled(db.session)
    db.session.commit()
    assert again == [(job.id, 1)]
    assert exports.recover_stalled(db.session) == []  # not again before another lease
    jobs.export_certificates(job.id, 1)
    assert job_status(job.id) == "done"


def job_status(job_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ExportJob, job_id).status


def test_with_the_queue_away_an_export_is_refused_with_503_and_nothing_saved(
    app, client, login_as, certificates, monkeypatch
):
    monkeypatch.setattr(jobs, "huey", jobs.make_huey(Config(redis_url="redis://127.0.0.1:1/0")))
    login_as("auditor")
    resp = client.post("/auditor/export", data={"program": certificates.id})
    assert resp.status_code == 503
    assert "not reachable at the moment" in text_of(resp)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ExportJob)).scalar() == 0
