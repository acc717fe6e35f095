from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.models import User
from lms.completions import services
from lms.core import nav
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.permissions import requires
from lms.extensions import db

bp = Blueprint("completions", __name__)


def can_see_person(viewer: User, person: User) -> bool:
    """Own records; admins and auditors all; managers and instructors their department tree."""
    if viewer.id == person.id or viewer.can("certificates.view"):
        return True
    if viewer.has_role("manager") or viewer.has_role("instructor"):
        from lms.accounts.services import subtree_ids

        if viewer.department_id and person.department_id in subtree_ids(
            db.session, viewer.department_id
        ):
            return True
        return viewer.has_role("instructor")
    return False


@bp.route("/people/<int:user_id>/training")
@requires("login")
def person(user_id: int):
    person = db.get_or_404(User, user_id)
    if not can_see_person(current_user, person):
        abort(403)
    today = utcnow().date()
    completions = services.completions_of(db.session, person.id)
    superseded = {c.supersedes_id for c in completions if c.supersedes_id}
    chains = {c.id: services.lineage(db.session, c)[1:] for c in completions}
    return render_template(
        "completions/person.html",
        person=person,
        completions=completions,
        today=today,
        superseded=superseded,
        chains=chains,
        pick=pick,
    )


@bp.route("/my/records")
@requires("login")
def mine():
    return person(current_user.id)


nav.register(_l("My records"), "completions.mine", "login", order=5)
