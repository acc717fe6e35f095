"""The cascade dashboard: per department, how many of its staff are compliant and how far its
responsible persons got.

A compliance view of the cascade: it counts the stored status (lms.compliance) and colours it,
so it stands here, above the cascade whose designations it lists (lms.cascade.queries). Its
own blueprint keeps the address /cascade/ beside the cascade's designation pages.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.cascade import queries as cascade_queries
from lms.compliance import engine
from lms.compliance.charts import heat_colour
from lms.compliance.queries import visible_department_ids
from lms.core import nav
from lms.core.clock import local_today
from lms.core.http import id_arg
from lms.core.i18n import pick
from lms.core.permissions import requires
from lms.extensions import db

bp = Blueprint("cascade_dashboard", __name__, url_prefix="/cascade")


@bp.route("/")
@requires("compliance.view")
def dashboard():
    programs = cascade_queries.cascade_programs(db.session)
    if not programs:
        return render_template("cascade/dashboard.html", programs=[], program=None, rows=[])
    chosen = id_arg("program")
    program = next((p for p in programs if p.id == chosen), programs[0])
    today = local_today()
    counts = engine.matrix_counts(db.session, today, scope=engine.Scope(program_ids=(program.id,)))
    rows = cascade_queries.dashboard(
        db.session,
        program,
        today,
        visible_department_ids(db.session, current_user),
        {dept: by_status for (dept, _pid), by_status in counts.items()},
    )
    return render_template(
        "cascade/dashboard.html",
        programs=programs,
        program=program,
        rows=rows,
        today=today,
        colour=heat_colour,
        pick=pick,
    )


nav.register(_l("Cascade"), "cascade_dashboard.dashboard", "compliance.view", order=45)
