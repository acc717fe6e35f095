from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.services import department_tree, subtree_ids
from lms.cascade import queries, services
from lms.cascade.forms import DesignationForm, EndForm
from lms.cascade.models import Designation
from lms.core import nav
from lms.core.clock import local_today
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.model import load_or_404
from lms.core.permissions import requires
from lms.extensions import db
from lms.programs.labels import CATEGORY_LABELS

bp = Blueprint("cascade", __name__, url_prefix="/cascade")


def _manageable_departments() -> list[int] | None:
    """Admins designate anywhere; a manager in their own department tree."""
    if current_user.has_role("admin"):
        return None
    if current_user.department_id is None:
        return []
    return subtree_ids(db.session, current_user.department_id)


@bp.route("/designations", methods=["GET", "POST"])
@requires("cascade.designate")
def designations():
    allowed = _manageable_departments()
    form = DesignationForm()
    people = queries.active_people(db.session)
    form.user_id.choices = [
        (u.id, f"{u.name} ({u.local_job_title})" if u.job_title else u.name)
        for u in people
        if allowed is None or u.department_id in allowed
    ]
    form.department_id.choices = [
        (d.id, "\u2003" * depth + d.local_name)
        for d, depth in department_tree(db.session)
        if allowed is None or d.id in allowed
    ]
    form.program_id.choices = [(0, _("Any program of the category"))] + [
        (p.id, p.code) for p in queries.cascade_programs(db.session)
    ]
    form.category.choices = [("", _("None"))] + list(CATEGORY_LABELS.items())
    if request.method == "GET":
        form.starts_on.data = local_today()
    status = 200
    if form.validate_on_submit():
        if allowed is not None and form.department_id.data not in allowed:
            abort(403)
        try:
            services.designate(
                db.session,
                user_id=form.user_id.data,
                department_id=form.department_id.data,
                program_id=form.program_id.data or None,
                category=form.category.data or None,
                level=form.level.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                actor_id=current_user.id,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code
        else:
            flash(_("The responsible person was designated."), "success")
            return redirect(url_for("cascade.designations"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "cascade/designations.html",
        form=form,
        designations=queries.designations(db.session, allowed),
        today=local_today(),
        end_form=EndForm(),
        labels=CATEGORY_LABELS,
    ), status


@bp.route("/designations/<int:designation_id>/end", methods=["POST"])
@requires("cascade.designate")
def end(designation_id: int):
    d = load_or_404(db.session, Designation, designation_id)
    allowed = _manageable_departments()
    if allowed is not None and d.department_id not in allowed:
        abort(403)
    form = EndForm()
    if not form.validate_on_submit():
        flash(_("Enter the last day of the designation."), "error")
        return redirect(url_for("cascade.designations")), 303
    try:
        services.end_designation(db.session, d, form.ends_on.data, current_user.id)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("cascade.designations")), 303
    flash(_("The designation was ended."), "success")
    return redirect(url_for("cascade.designations"))


nav.register(_l("Responsible persons"), "cascade.designations", "cascade.designate", order=46)
