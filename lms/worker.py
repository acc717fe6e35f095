"""The job worker's entry point: ``huey_consumer lms.worker.huey``.

The job queue (lms.jobs) stands below the app it runs in; this module, in the top layer with the
rest of the wiring, hands it the app factory, so that each worker builds its one app when its
first job runs.
"""

from __future__ import annotations

from lms import create_app, jobs
from lms.jobs import huey

jobs.use_app_factory(create_app)

__all__ = ["huey"]
