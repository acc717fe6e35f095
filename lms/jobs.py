"""Background jobs on a real task queue (Huey).

SqliteHuey under instance/ by default; RedisHuey when LMS_REDIS_URL is set, so workers can run
on other machines. Tests and LMS_JOBS_IMMEDIATE=1 run jobs in-process at once.
Start a worker with: .venv/bin/huey_consumer lms.jobs.huey
"""

from __future__ import annotations

import os

from huey import RedisHuey, SqliteHuey

from lms.config import INSTANCE


def _make_huey():
    immediate = os.environ.get("LMS_JOBS_IMMEDIATE") == "1"
    redis_url = os.environ.get("LMS_REDIS_URL")
    if redis_url:
        return RedisHuey("brigade", url=redis_url, immediate=immediate)
    INSTANCE.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("brigade", filename=str(INSTANCE / "huey.db"), immediate=immediate)


huey = _make_huey()
_app = None


def app_context():
    """An app context for a job: the current one in-process, else one app per worker."""
    global _app
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.app_context()
    if _app is None:
        from lms import create_app

        _app = create_app()
    return _app.app_context()


@huey.task()
def export_certificates(job_id: int) -> None:
    from lms.completions.exports import run_export

    with app_context():
        run_export(job_id)


@huey.task(retries=2, retry_delay=10)
def render_certificate(cert_id: int) -> None:
    """Render, seal and store a newly issued certificate's PDF (once, however often it runs)."""
    from lms.completions.issued import render_job

    with app_context():
        render_job(cert_id)
