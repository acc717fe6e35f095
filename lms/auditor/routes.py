from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from lms.accounts.models import User
from lms.core import audit, nav
from lms.core.audit import AuditEntry
from lms.core.http import page_arg
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db

bp = Blueprint("auditor", __name__)


def _date(name: str):
    value = request.args.get(name, "")
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.route("/audit")
@requires("audit.view")
def audit_log():
    from flask_babel import get_timezone

    tz = get_timezone()
    person = request.args.get("person", type=int)
    object_type = request.args.get("object_type") or None
    object_id = request.args.get("object_id") or None
    since, until = _date("from"), _date("to")
    stmt = audit.query(
        actor_id=person,
        object_type=object_type,
        object_id=object_id,
        since=datetime.combine(since, time.min, tz) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tz) if until else None,
    )
    page = paginate(db.session, stmt, page_arg(), 100)
    actor_ids = {e.actor_id for e in page.items if e.actor_id}
    names = (
        dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    people = db.session.execute(
        sa.select(User.id, User.name)
        .where(User.id.in_(sa.select(AuditEntry.actor_id).distinct()))
        .order_by(User.name)
    ).all()
    types = db.session.scalars(
        sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
    ).all()
    return render_template(
        "auditor/audit_log.html",
        page=page,
        names=names,
        people=people,
        types=types,
        person=person,
        object_type=object_type,
        object_id=object_id or "",
        since=request.args.get("from", ""),
        until=request.args.get("to", ""),
    )


nav.register(_l("Audit log"), "auditor.audit_log", "audit.view", order=80)
