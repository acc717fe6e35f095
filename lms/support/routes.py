"""Help request pages: raise one from any page, follow it, and the support staff's board."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from lms.core import nav
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import int_arg, safe_next
from lms.core.model import load_or_404, utcnow
from lms.core.permissions import requires
from lms.extensions import db
from lms.support import labels, queries, services
from lms.support.forms import (
    AgentForm,
    AnswerTimesForm,
    CloseForm,
    EndAgentForm,
    EscalateForm,
    RaiseForm,
    ReplyForm,
    TriageForm,
)
from lms.support.models import PRIORITIES, SupportAgent

bp = Blueprint("support", __name__, url_prefix="/support")

CONTEXT_ARGS = ("program_id", "session_id", "attempt_id")


def _page_context(page: str) -> dict[str, int]:
    """The program, session and attempt the page is about, read from its address."""
    path = urlsplit(page).path
    try:
        _endpoint, args = current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:  # not one of our pages (or a redirect): keep only the address
        return {}
    return {k: v for k, v in args.items() if k in CONTEXT_ARGS and isinstance(v, int)}


def _upload(form) -> services.Upload | None:
    data = form.attachment.data
    if data is None or not getattr(data, "filename", ""):
        return None
    return services.Upload(filename=data.filename, data=data.read())


def _fail(form, err: DomainError) -> int:
    db.session.rollback()
    if not apply_domain_error(form, err):
        flash(err.message, "error")
    return err.status_code


@bp.route("/")
@requires("support.raise")
def index():
    return render_template(
        "support/index.html",
        requests=queries.my_requests(db.session, current_user.id),
        staff_line=services.staff_line(db.session, current_user),
        labels=labels,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("support.raise")
def new():
    form = RaiseForm()
    if request.method == "GET":
        form.page.data = safe_next(request.args.get("page"), default="")
    page = safe_next(form.page.data, default="")
    context = services.Context(
        page=page,
        language=str(get_locale() or ""),
        browser=request.headers.get("User-Agent", ""),
        **_page_context(page),
    )
    status = 200
    if form.validate_on_submit():
        try:
            req = services.raise_request(
                db.session,
                current_user,
                subject=form.subject.data,
                description=form.description.data,
                category=form.category.data,
                context=context,
                upload=_upload(form),
            )
        except DomainError as err:
            status = _fail(form, err)
        else:
            flash(
                _("Your help request #%(id)s was sent to first-line support.", id=req.id),
                "success",
            )
            return redirect(url_for("support.detail", request_id=req.id))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "support/new.html",
            form=form,
            context=context,
            about=services.context_objects(db.session, context),
        ),
        status,
    )


def _detail(request_id: int, status: int = 200, **forms):
    req, as_staff = services.load_request(db.session, request_id, current_user)
    can_act = as_staff and services.can_act(db.session, current_user, req)
    is_requester = req.requester_id == current_user.id
    triage = forms.get("triage") or TriageForm(
        formdata=None, category=req.category, priority=req.priority
    )
    return (
        render_template(
            "support/detail.html",
            req=req,
            as_staff=as_staff,
            can_act=can_act,
            is_requester=is_requester,
            reply_form=forms.get("reply") or ReplyForm(formdata=None),
            escalate_form=forms.get("escalate") or EscalateForm(formdata=None),
            triage_form=triage,
            close_form=forms.get("close") or CloseForm(formdata=None),
            labels=labels,
            now=utcnow(),
        ),
        status,
    )


@bp.route("/<int:request_id>")
@requires("support.raise")
def detail(request_id: int):
    return _detail(request_id)


def _act(request_id: int, form, key: str, action, done: str):
    req, _as_staff = services.load_request(db.session, request_id, current_user)
    if not form.validate_on_submit():
        return _detail(request_id, 400, **{key: form})
    try:
        action(req)
    except DomainError as err:
        status = _fail(form, err)
        return _detail(request_id, status, **{key: form})
    flash(done, "success")
    return redirect(url_for("support.detail", request_id=request_id))


@bp.route("/<int:request_id>/reply", methods=["POST"])
@requires("support.raise")
def reply(request_id: int):
    form = ReplyForm()
    return _act(
        request_id,
        form,
        "reply",
        lambda req: services.reply(db.session, req, current_user, form.body.data, _upload(form)),
        _("Your reply was added."),
    )


@bp.route("/<int:request_id>/close", methods=["POST"])
@requires("support.raise")
def close(request_id: int):
    form = CloseForm()
    return _act(
        request_id,
        form,
        "close",
        lambda req: services.close(db.session, req, current_user, form.note.data or ""),
        _("The help request was closed."),
    )


@bp.route("/<int:request_id>/escalate", methods=["POST"])
@requires("support.work")
def escalate(request_id: int):
    services.require_staff(db.session, current_user)
    form = EscalateForm()
    return _act(
        request_id,
        form,
        "escalate",
        lambda req: services.escalate(db.session, req, current_user, form.reason.data),
        _("The help request was passed on to the next line."),
    )


@bp.route("/<int:request_id>/triage", methods=["POST"])
@requires("support.work")
def triage(request_id: int):
    services.require_staff(db.session, current_user)
    form = TriageForm()
    return _act(
        request_id,
        form,
        "triage",
        lambda req: services.triage(
            db.session, req, current_user, category=form.category.data, priority=form.priority.data
        ),
        _("The category and priority were saved."),
    )


@bp.route("/attachments/<int:attachment_id>")
@requires("support.raise")
def attachment(attachment_id: int):
    att = services.load_attachment(db.session, attachment_id, current_user)
    response = send_file(
        io.BytesIO(att.data),
        mimetype=att.content_type,
        as_attachment=True,
        download_name=att.filename,  # non-ASCII names are sent RFC 5987-encoded
        etag=False,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/board")
@requires("support.work")
def board():
    my_line = services.require_staff(db.session, current_user)
    line = int_arg("line")
    if line not in (1, 2, 3):
        line = None
    now = utcnow()
    return render_template(
        "support/board.html",
        lines=queries.board(db.session, now, line),
        chosen=line,
        my_line=my_line,
        now=now,
        age=lambda since: format_timedelta(now - since, threshold=1.1),
        labels=labels,
    )


def _staff_page(status: int = 200, agent_form=None, times_form=None):
    people = queries.active_people(db.session)
    agent_form = agent_form or AgentForm(formdata=None)
    agent_form.user_id.choices = [(u.id, u.name) for u in people]
    if times_form is None:
        hours = services.answer_hours(db.session)
        times_form = AnswerTimesForm(formdata=None, **{f"hours_{p}": hours[p] for p in PRIORITIES})
    return (
        render_template(
            "support/staff.html",
            agents=services.agents(db.session),
            agent_form=agent_form,
            end_form=EndAgentForm(formdata=None),
            times_form=times_form,
            labels=labels,
            priorities=PRIORITIES,
        ),
        status,
    )


@bp.route("/staff")
@requires("support.admin")
def staff():
    return _staff_page()


@bp.route("/staff/appoint", methods=["POST"])
@requires("support.admin")
def appoint():
    form = AgentForm()
    form.user_id.choices = [(u, "") for u in queries.user_ids(db.session)]
    if not form.validate_on_submit():
        return _staff_page(400, agent_form=form)
    try:
        agent = services.appoint(
            db.session, user_id=form.user_id.data, line=form.line.data, actor_id=current_user.id
        )
    except DomainError as err:
        return _staff_page(_fail(form, err), agent_form=form)
    flash(
        str(labels.APPOINTED[agent.line]) % {"name": agent.user.name},
        "success",
    )
    return redirect(url_for("support.staff"))


@bp.route("/staff/<int:agent_id>/end", methods=["POST"])
@requires("support.admin")
def end_agent(agent_id: int):
    agent = load_or_404(db.session, SupportAgent, agent_id)
    form = EndAgentForm()
    if not form.validate_on_submit():
        return _staff_page(400)
    services.end_appointment(db.session, agent, current_user.id)
    flash(_("%(name)s no longer works in support.", name=agent.user.name), "success")
    return redirect(url_for("support.staff"))


@bp.route("/staff/times", methods=["POST"])
@requires("support.admin")
def answer_times():
    form = AnswerTimesForm()
    if not form.validate_on_submit():
        return _staff_page(400, times_form=form)
    try:
        services.set_answer_hours(
            db.session,
            {p: getattr(form, f"hours_{p}").data for p in PRIORITIES},
            current_user.id,
        )
    except DomainError as err:
        return _staff_page(_fail(form, err), times_form=form)
    flash(_("The times to first answer were saved."), "success")
    return redirect(url_for("support.staff"))


nav.register(_l("Help requests"), "support.index", "support.raise", order=90)
nav.register(_l("Support staff"), "support.staff", "support.admin", order=93, group="admin")
nav.register_home_panel("support/_home.html", "support.work", order=15)


@bp.app_context_processor
def _help_link():
    def help_link() -> str:
        """The footer's "I need help": the support form, told which page the person is on."""
        if request.blueprint == "support" and request.endpoint == "support.new":
            return request.full_path.rstrip("?")
        return url_for("support.new", page=request.full_path.rstrip("?"))

    def support_waiting() -> dict | None:
        """For support staff on the start page: what waits at their line."""
        if not current_user.is_authenticated:
            return None
        line = services.staff_line(db.session, current_user)
        if line is None:
            return None
        total, late = queries.waiting_for(db.session, line, utcnow())
        return {"line": line, "total": total, "late": late, "you_work": labels.YOU_WORK[line]}

    return {
        "help_link": help_link,
        "support_waiting": support_waiting,
    }
