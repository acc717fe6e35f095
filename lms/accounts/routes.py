from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from lms.accounts import directory, people, queries, services, signin, throttle
from lms.accounts.forms import (
    ROLE_LABELS,
    ConfirmForm,
    DepartmentForm,
    LoginForm,
    PasswordChangeForm,
    PinForm,
    PreferencesForm,
    UserForm,
)
from lms.core import audit, nav
from lms.core.dates import fmt_time
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, page_arg, safe_next
from lms.core.i18n import LANGUAGE_NAMES, normalise
from lms.core.pagination import paginate
from lms.core.permissions import public, requires
from lms.extensions import db

bp = Blueprint("accounts", __name__)
bp.before_app_request(signin.check_idle)


@bp.context_processor
def _people_labels() -> dict:
    return people.template_labels()


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        attempt = throttle.Attempt(form.email.data, request.remote_addr)
        if attempt.refused:
            flash(
                _(
                    "Too many failed sign-ins for this account or from this address. "
                    "Try again at %(time)s.",
                    time=fmt_time(attempt.retry_at),
                ),
                "error",
            )
            return render_template("accounts/login.html", form=form), 429
        try:
            user = directory.sign_in(db.session, form.email.data, form.password.data)
        except DomainError as err:
            flash(err.message, "error")
            status = 401
        else:
            attempt.succeeded()
            signin.begin(user, remember=bool(form.remember.data))
            session["lang"] = user.locale or session.get("lang")
            return redirect(safe_next(form.next.data, url_for("accounts.home")))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@requires("account")
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    signin.end(db.session, current_user._get_current_object())
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/")
@requires("login")
def home():
    return render_template("accounts/home.html", role_labels=ROLE_LABELS)


@bp.route("/language", methods=["POST"])
@public
def set_language():
    # CSRFProtect has already checked the token; an unknown code changes nothing.
    code = normalise(request.form.get("lang"))
    if code:
        session["lang"] = code
        if current_user.is_authenticated:
            services.set_locale(db.session, current_user, code)
    return redirect(safe_next(request.form.get("next"), url_for("accounts.home")))


@bp.route("/account", methods=["GET", "POST"])
@requires("account")
def account():
    prefs = PreferencesForm(prefix="prefs", locale=current_user.locale or "")
    prefs.locale.choices = [("", _("Organisation default")), *LANGUAGE_NAMES.items()]
    pin_form = PinForm(prefix="pin")
    status = 200
    if prefs.submit.data and prefs.validate_on_submit():
        code = normalise(prefs.locale.data)
        services.set_locale(db.session, current_user, code)
        session["lang"] = code
        flash(_("Your preferences were saved."), "success")
        return redirect(url_for("accounts.account"))
    if pin_form.submit.data:
        if pin_form.validate_on_submit():
            try:
                services.set_pin(db.session, current_user, pin_form.pin.data)
            except DomainError as err:
                apply_domain_error(pin_form, err)
                status = 400
            else:
                flash(_("Your PIN was saved."), "success")
                return redirect(url_for("accounts.account"))
        else:
            status = 400
    return render_template("accounts/account.html", prefs=prefs, pin_form=pin_form), status


@bp.route("/account/password", methods=["GET", "POST"])
@requires("account")
def change_password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.change_password(
                db.session, current_user, form.current.data, form.password.data
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
        else:
            # keep this session: the cookie carries the new session version
            login_user(current_user._get_current_object(), remember=False)
            flash(_("Your password was changed."), "success")
            return redirect(url_for("accounts.home"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/password.html", form=form), status


# ----- administration of people and departments -------------------------------------------


def _department_choices(blank: str) -> list[tuple[int, str]]:
    tree = services.department_tree(db.session)
    return [(0, blank)] + [(d.id, "\u2003" * depth + d.local_name) for d, depth in tree]


@bp.route("/admin/")
@requires("accounts.admin")
def admin_hub():
    return render_template("accounts/admin.html", items=nav.items_for(current_user, "admin"))


@bp.route("/admin/users")
@requires("accounts.admin")
def users():
    q = request.args.get("q", "")
    dept = id_arg("department")
    role = request.args.get("role") if request.args.get("role") in ROLE_LABELS else None
    status = request.args.get("status", "active")
    active = {"active": True, "inactive": False}.get(status)
    stmt = services.search_users(db.session, q, dept, role, active)
    page = paginate(db.session, stmt, page_arg(), 50)
    return render_template(
        "accounts/users.html",
        page=page,
        q=q,
        department=dept,
        role=role,
        status=status,
        departments=services.department_tree(db.session),
        role_labels=ROLE_LABELS,
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("accounts.admin")
def user_new():
    form = UserForm()
    form.department_id.choices = _department_choices(_("No department"))
    status = 200
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = [_("Set an initial password.")]
            status = 400
        else:
            try:
                user = services.create_user(
                    db.session,
                    email=form.email.data,
                    name=form.name.data,
                    password=form.password.data,
                    roles=form.roles.data,
                    department_id=form.department_id.data or None,
                    job_title=form.job_title.data or "",
                    start_date=form.start_date.data,
                    actor_id=current_user.id,
                )
            except DomainError as err:
                if not apply_domain_error(form, err):
                    flash(err.message, "error")
                status = 400
            else:
                flash(_("%(name)s was added.", name=user.name), "success")
                return redirect(url_for("accounts.users"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/user_form.html", form=form, user=None), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("accounts.admin")
def user_edit(user_id: int):
    user = queries.get_user(db.session, user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
        form.department_id.data = user.department_id or 0
    form.department_id.choices = _department_choices(_("No department"))
    status = 200
    if form.validate_on_submit():
        try:
            services.update_user(
                db.session,
                user,
                name=form.name.data,
                email=form.email.data,
                job_title=form.job_title.data or "",
                department_id=form.department_id.data or None,
                roles=form.roles.data,
                start_date=form.start_date.data,
                actor_id=current_user.id,
            )
            if form.password.data:
                services.check_password_strength(form.password.data)
                user.password_hash = services.hash_secret(form.password.data)
                user.session_version += 1
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
        else:
            flash(_("The changes to %(name)s were saved.", name=user.name), "success")
            return redirect(url_for("accounts.users"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "accounts/user_form.html",
        form=form,
        user=user,
        toggle=ConfirmForm(),
        locked_until=throttle.locked_until(user.email),
        hr=queries.hr_record(db.session, user.id),
    ), status


@bp.route("/admin/users/<int:user_id>/unlock", methods=["POST"])
@requires("accounts.admin")
def user_unlock(user_id: int):
    """Lift the sign-in lock after too many failed attempts on this account."""
    user = queries.get_user(db.session, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    throttle.lift(user.email)

    audit.record(db.session, current_user.id, "login_unlock", "user", user.id, user.email)
    flash(_("%(name)s can try to sign in again.", name=user.name), "success")
    return redirect(url_for("accounts.user_edit", user_id=user.id)), 303


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@requires("accounts.admin")
def user_set_active(user_id: int):
    user = queries.get_user(db.session, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    make_active = request.form.get("active") == "1"
    try:
        services.set_active(db.session, user, make_active, current_user.id)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("accounts.user_edit", user_id=user.id)), 303
    if make_active:
        flash(_("%(name)s can sign in again.", name=user.name), "success")
    else:
        flash(_("%(name)s was deactivated.", name=user.name), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/admin/departments")
@requires("accounts.admin")
def departments():
    return render_template("accounts/departments.html", tree=services.department_tree(db.session))


def _manager_choices() -> list[tuple[int, str]]:
    return [(0, _("No manager")), *queries.manager_choices(db.session)]


@bp.route("/admin/departments/new", methods=["GET", "POST"])
@bp.route("/admin/departments/<int:dept_id>", methods=["GET", "POST"])
@requires("accounts.admin")
def department_form(dept_id: int | None = None):
    dept = queries.get_department(db.session, dept_id) if dept_id else None
    form = DepartmentForm(obj=dept)
    if request.method == "GET" and dept is not None:
        form.parent_id.data = dept.parent_id or 0
        form.manager_id.data = dept.manager_id or 0
    form.parent_id.choices = _department_choices(_("None (top level)"))
    form.manager_id.choices = _manager_choices()
    status = 200
    if form.validate_on_submit():
        try:
            if dept is None:
                services.create_department(
                    db.session,
                    name=form.name.data,
                    code=form.code.data,
                    parent_id=form.parent_id.data or None,
                    manager_id=form.manager_id.data or None,
                    actor_id=current_user.id,
                )
            else:
                services.update_department(
                    db.session,
                    dept,
                    name=form.name.data,
                    code=form.code.data,
                    parent_id=form.parent_id.data or None,
                    manager_id=form.manager_id.data or None,
                    actor_id=current_user.id,
                )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
        else:
            flash(_("The department was saved."), "success")
            return redirect(url_for("accounts.departments"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/department_form.html", form=form, dept=dept), status


def _register_nav() -> None:
    nav.register(_l("Home"), "accounts.home", "login", order=0)
    nav.register(_l("People"), "accounts.users", "accounts.admin", order=90, group="admin")
    nav.register(
        _l("Departments"), "accounts.departments", "accounts.admin", order=91, group="admin"
    )
    nav.register(_l("Administration"), "accounts.admin_hub", "accounts.admin", order=90)


_register_nav()
