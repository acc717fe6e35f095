"""Background jobs on a real task queue (Huey).

SqliteHuey under instance/ by default; RedisHuey when LMS_REDIS_URL is set, so workers can run
on other machines. Tests and LMS_JOBS_IMMEDIATE=1 run jobs in-process at once. Settings come
from the typed configuration (``Config.from_env``), like the application's.
Start a worker with: .venv/bin/huey_consumer lms.worker.huey (lms/worker.py, in the top layer,
hands this module the app factory: the job queue stands below the app it runs in).

A worker can die in the middle of a job (SIGKILL, a lost machine): Huey has then already taken
the task off the queue. Jobs therefore keep a lease in the database (``ExportJob.heartbeat_at``,
renewed while they run); ``recover_stalled`` puts a job whose lease ran out back on the queue
for another worker, at most ``LMS_JOB_MAX_ATTEMPTS`` times, and then marks it failed with the
reason. It runs every minute in each worker (a periodic task), when a worker starts, and when
someone looks at the job's progress page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

from lms.accounts.hr_uploads import run_apply
from lms.completions import issued
from lms.completions.exports import recover_stalled, run_export
from lms.compliance import trends
from lms.config import INSTANCE, Config
from lms.core.clock import local_today
from lms.extensions import db


def make_huey(config: Config) -> Huey:
    if config.redis_url:
        return RedisHuey("brigade", url=config.redis_url, immediate=config.jobs_immediate)
    INSTANCE.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "brigade", filename=str(INSTANCE / "huey.db"), immediate=config.jobs_immediate
    )


huey = make_huey(Config.from_env())
_app: Flask | None = None
_app_factory: Callable[[], Flask] | None = None


def use_app_factory(factory: Callable[[], Flask]) -> None:
    """Called by the worker's entry point (lms.worker): how a worker builds its one app."""
    global _app_factory
    _app_factory = factory


def app_context():
    """An app context for a job: the current one in-process, else one app per worker."""
    global _app

    if has_app_context():
        return current_app.app_context()
    if _app is None:
        if _app_factory is None:
            raise RuntimeError("no app for the job: start the worker with lms.worker.huey")
        _app = _app_factory()
    return _app.app_context()


@huey.task()
def export_certificates(job_id: int, attempt: int = 1) -> None:
    with app_context():
        run_export(job_id, attempt)


def recover() -> list[tuple[int, int]]:
    """Requeue exports whose worker died (see the module docstring); returns what it queued."""
    with app_context():
        again = recover_stalled(db.session)
        db.session.commit()
    for job_id, attempt in again:
        export_certificates(job_id, attempt)
    return again


@huey.periodic_task(crontab(minute="*"))
def recover_stalled_jobs() -> None:
    recover()


@huey.on_startup()
def _recover_on_start() -> None:
    recover()


def keep_compliance_current() -> None:
    """The compliance pages' aggregates: the status counts recounted when the organisation's
    day moved on, the month just closed recorded in the dashboard's history. Nothing to do
    but two small reads on most runs."""
    with app_context():
        trends.keep_current(db.session, local_today())
        db.session.commit()


# every hour, so that the day's first run follows the organisation's midnight in any zone
@huey.periodic_task(crontab(minute="7"))
def compliance_daily() -> None:
    keep_compliance_current()


@huey.task()
def apply_hr_import(import_id: int) -> None:
    with app_context():
        run_apply(db.session, import_id)


@huey.task(retries=2, retry_delay=10)
def render_certificate(cert_id: int) -> None:
    """Render, seal and store a newly issued certificate's PDF (once, however often it runs)."""
    with app_context():
        issued.render_job(cert_id)


issued.use_render_task(render_certificate)
