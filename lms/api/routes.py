"""REST API under /api/v1: token auth with scopes, the same permissions as the pages, problem
details (RFC 9457) for every error, an OpenAPI 3.1 document and an interactive docs page."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, render_template, request
from spectree import Response as Resp
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData
from werkzeug.exceptions import HTTPException

from lms.accounts import hr_sync
from lms.accounts import services as accounts
from lms.accounts.models import Department, User
from lms.accounts.people import absences_of, mask_personal_code, record_absence
from lms.api import pages, queries
from lms.api import schemas as s
from lms.api.tokens import find_token
from lms.completions import services as completions
from lms.completions.models import Certificate
from lms.core.clock import local_today
from lms.core.errors import DomainError
from lms.core.model import utcnow
from lms.core.permissions import PUBLIC_ATTR, SAFE_METHODS, may_write, public
from lms.extensions import csrf, db
from lms.programs.models import Program
from lms.sessions import services as sessions
from lms.sessions.models import TrainingSession

bp = Blueprint("api", __name__, url_prefix="/api/v1")
EXTRA_BLUEPRINTS = (pages.bp,)  # the admin pages: HR import, API tokens
csrf.exempt(bp)  # token-authenticated: no cookies, no CSRF


CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, errors=None):
        super().__init__(title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def problem_response(status: int, title: str, detail: str | None = None, errors=None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def _validation_problem(req, resp, req_validation_error, instance, *_args) -> None:
    if req_validation_error is not None:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": str(e.get("msg", ""))}
            for e in req_validation_error.errors()
        ]
        raise Problem(422, "Invalid request", "The request does not match the schema.", errors)


# The OpenAPI document is for developers and, like the command line, speaks English.
API_DESCRIPTION = (
    "Training records: people, departments, programs, status, completions, certificates, "
    "sessions. Authenticate with `Authorization: Bearer <token>` (tokens are created by an "
    "administrator under Administration > API tokens). Errors are RFC 9457 problem details."
)

spec = SpecTree(
    "flask",
    mode="strict",
    title="Brigade API",
    version="1.0.0",
    description=API_DESCRIPTION,
    path="api/docs-spectree",
    validation_error_status=422,
    validation_error_model=s.Problem,
    before=_validation_problem,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        ),
    ],
    security={"bearer": []},
)


@bp.record_once
def _attach(state) -> None:
    spec.app = state.app


@bp.errorhandler(Problem)
def _problem(err: Problem):
    return problem_response(err.status, err.title, err.detail, err.errors)


@bp.errorhandler(DomainError)
def _domain(err: DomainError):
    errors = [{"field": err.field, "reason": err.message}] if err.field else None
    return problem_response(err.status_code, err.message, None, errors)


@bp.errorhandler(HTTPException)
def _http(err: HTTPException):
    return problem_response(err.code or 500, err.name, err.description)


def api(permission: str, scope: str) -> Callable[[Callable], Callable]:
    """Token authentication: 401 without a valid, unrevoked token; 403 without the scope or
    without the permission the pages ask for (the token acts as its person)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            header = request.headers.get("Authorization", "")
            secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
            token = find_token(db.session, secret) if secret else None
            if token is None or token.revoked_at is not None or not token.user.active:
                raise Problem(401, "Unauthorized", "A valid, unrevoked API token is required.")
            if scope not in token.scope_set:
                raise Problem(403, "Forbidden", f"The token lacks the scope {scope}.")
            allowed = (
                token.user.can(permission)
                if request.method in SAFE_METHODS
                else may_write(token.user.roles, permission)  # read-only roles write nothing
            )
            if not allowed:
                raise Problem(403, "Forbidden", "The token's person lacks this permission.")
            g.api_user = token.user
            token.last_used_at = utcnow()
            return view(*args, **kwargs)

        setattr(wrapper, PUBLIC_ATTR, True)  # reached without a session; the token decides
        return wrapper

    return decorate


def _r(ok: dict[str, Any], *codes: int) -> Resp:
    extra = {f"HTTP_{c}": s.Problem for c in (401, 403, *codes)}
    return Resp(**ok, **extra)


def _get(model: type, ident: int):
    obj = queries.get(db.session, model, ident)
    if obj is None:
        raise Problem(404, "Not Found", f"No {model.__name__} with id {ident}.")
    return obj


def _page(stmt, page: s.Page) -> tuple[int, list]:
    return queries.page(db.session, stmt, page.page, page.per_page)


def _person(u: User) -> s.Person:
    return s.Person(
        id=u.id,
        employee_number=u.employee_number,
        name=u.name,
        patronymic=u.patronymic,
        email=u.email,
        personal_code=mask_personal_code(u.personal_code, g.api_user.roles) or None,
        job_title=u.job_title,
        department_id=u.department_id,
        manager_id=u.manager_id,
        hire_date=u.start_date,
        leaving_date=u.leaving_date,
        worker_category=u.worker_category,
        hazardous_work=u.hazardous_work,
        active=u.active,
        roles=sorted(u.roles),
    )


# ----- docs ------------------------------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(spec.spec)


@bp.get("/docs")
@public
def docs():
    return render_template("api/docs.html")


# ----- people and departments ------------------------------------------------------------------


@bp.get("/people")
@api("accounts.admin", "people:read")
@spec.validate(query=s.PeopleQuery, resp=_r({"HTTP_200": s.PersonList}), tags=["people"])
def list_people(query: s.PeopleQuery):
    """People, filtered by text, department, active and employee number."""
    stmt = queries.people_stmt(
        db.session, query.q or "", query.department_id, query.active, query.employee_number
    )
    total, rows = _page(stmt, query)
    return s.PersonList(
        items=[_person(u) for u in rows], page=query.page, per_page=query.per_page, total=total
    )


@bp.get("/people/<int:person_id>")
@api("accounts.admin", "people:read")
@spec.validate(resp=_r({"HTTP_200": s.Person}, 404), tags=["people"])
def get_person(person_id: int):
    """One person."""
    return _person(_get(User, person_id))


@bp.put("/people/by-number/<employee_number>")
@api("accounts.admin", "people:write")
@spec.validate(json=s.PersonIn, resp=_r({"HTTP_200": s.Person}, 400, 409), tags=["people"])
def put_person(employee_number: str, json: s.PersonIn):
    """HR sync: create or update the person with this employee number."""
    user = hr_sync.sync_person(
        db.session, employee_number, **json.model_dump(), actor_id=g.api_user.id
    )
    return _person(user)


def _absence(a) -> s.Absence:
    return s.Absence(
        id=a.id, person_id=a.user_id, starts_on=a.starts_on, ends_on=a.ends_on, kind=a.kind
    )


@bp.get("/people/<int:person_id>/absences")
@api("accounts.admin", "people:read")
@spec.validate(resp=_r({"HTTP_200": s.AbsenceList}, 404), tags=["people"])
def list_absences(person_id: int):
    """A person's absences."""
    user = _get(User, person_id)
    return s.AbsenceList(items=[_absence(a) for a in absences_of(db.session, user.id)])


@bp.post("/people/<int:person_id>/absences")
@api("accounts.admin", "people:write")
@spec.validate(json=s.AbsenceIn, resp=_r({"HTTP_201": s.Absence}, 400, 404), tags=["people"])
def add_absence(person_id: int, json: s.AbsenceIn):
    """Record an absence (the same start date updates it)."""
    user = _get(User, person_id)
    a = record_absence(
        db.session, user.id, json.starts_on, json.ends_on, kind=json.kind, source="api"
    )
    return _absence(a), 201


def _dept(d: Department) -> s.Department:
    return s.Department(
        id=d.id, name=d.name, code=d.code, parent_id=d.parent_id, manager_id=d.manager_id
    )


@bp.get("/departments")
@api("compliance.view", "people:read")
@spec.validate(query=s.Page, resp=_r({"HTTP_200": s.DepartmentList}), tags=["departments"])
def list_departments(query: s.Page):
    """Departments."""
    total, rows = _page(queries.departments_stmt(), query)
    return s.DepartmentList(
        items=[_dept(d) for d in rows], page=query.page, per_page=query.per_page, total=total
    )


@bp.post("/departments")
@api("accounts.admin", "people:write")
@spec.validate(
    json=s.DepartmentIn, resp=_r({"HTTP_201": s.Department}, 400, 409), tags=["departments"]
)
def add_department(json: s.DepartmentIn):
    """Create a department."""
    d = accounts.create_department(
        db.session, name=json.name, code=json.code, parent_id=json.parent_id, actor_id=g.api_user.id
    )
    return _dept(d), 201


@bp.put("/departments/by-code/<code>")
@api("accounts.admin", "people:write")
@spec.validate(
    json=s.DepartmentSync, resp=_r({"HTTP_200": s.Department}, 400, 409), tags=["departments"]
)
def put_department(code: str, json: s.DepartmentSync):
    """HR sync: create the department with this code, or rename or move it."""
    if not CODE.match(code):
        raise Problem(400, "Bad Request", "A department code is 1 to 40 letters, digits, _ . -")
    d = hr_sync.sync_department(
        db.session, code, name=json.name, parent_id=json.parent_id, actor_id=g.api_user.id
    )
    return _dept(d)


# ----- programs, status, completions, certificates ---------------------------------------------


@bp.get("/programs")
@api("programs.view", "training:read")
@spec.validate(query=s.Page, resp=_r({"HTTP_200": s.ProgramList}), tags=["programs"])
def list_programs(query: s.Page):
    """Programs with the title of their current version."""
    total, rows = _page(queries.programs_stmt(), query)
    titles = queries.current_titles(db.session, rows)
    items = [
        s.Program(
            id=p.id,
            code=p.code,
            category=p.category,
            current_version_id=p.current_version_id,
            title=titles.get(p.current_version_id or 0, {}),
        )
        for p in rows
    ]
    return s.ProgramList(items=items, page=query.page, per_page=query.per_page, total=total)


@bp.get("/programs/<int:program_id>/versions")
@api("programs.view", "training:read")
@spec.validate(resp=_r({"HTTP_200": s.VersionList}, 404), tags=["programs"])
def list_versions(program_id: int):
    """The versions of a program."""
    p = _get(Program, program_id)
    return s.VersionList(
        items=[
            s.Version(
                id=v.id,
                number=v.number,
                status=v.status,
                title=v.title,
                briefing_type=v.briefing_type,
                delivery_mode=v.delivery_mode,
                refresher_months=v.refresher_months,
            )
            for v in queries.versions_of(db.session, p.id)
        ]
    )


@bp.get("/status")
@api("compliance.view", "training:read")
@spec.validate(query=s.StatusQuery, resp=_r({"HTTP_200": s.StatusList}), tags=["status"])
def list_status(query: s.StatusQuery):
    """Training status per person and required program."""
    total, rows = queries.status_rows(
        db.session,
        local_today(),
        g.api_user,
        user_ids=(query.person_id,) if query.person_id else None,
        program_ids=(query.program_id,) if query.program_id else None,
        department_id=query.department_id,
        status=query.status,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    items = [
        s.Status(
            person_id=r.user_id,
            program_id=r.program_id,
            department_id=r.department_id,
            status=r.status,
            due_on=r.due_on,
            completed_on=r.completed_on,
        )
        for r in rows
    ]
    return s.StatusList(items=items, page=query.page, per_page=query.per_page, total=total)


@bp.get("/completions")
@api("compliance.view", "training:read")
@spec.validate(
    query=s.CompletionQuery, resp=_r({"HTTP_200": s.CompletionList}), tags=["completions"]
)
def list_completions(query: s.CompletionQuery):
    """Completions, newest first."""
    stmt = queries.completions_stmt(
        db.session, g.api_user, query.person_id, query.program_id, query.since
    )
    total, rows = _page(stmt, query)
    revoked, numbers = queries.completion_extras(db.session, [c.id for c in rows])
    items = [
        s.Completion(
            id=c.id,
            person_id=c.user_id,
            program_id=c.program_id,
            version_id=c.version_id,
            completed_on=c.completed_on,
            expires_on=c.expires_on,
            earned_by=c.earned_by,
            revoked=c.id in revoked,
            certificate_number=numbers.get(c.id),
        )
        for c in rows
    ]
    return s.CompletionList(items=items, page=query.page, per_page=query.per_page, total=total)


def _certificate(number: str) -> Certificate:
    cert = queries.certificate_by_number(db.session, number)
    if cert is None:
        raise Problem(404, "Not Found", "No certificate has this number.")
    return cert


def _cert_out(cert: Certificate) -> s.Certificate:
    return s.Certificate(
        number=cert.number,
        code=cert.code,
        person_name=cert.completion.user.name,
        program_id=cert.completion.program_id,
        issued_at=cert.issued_at,
        state=completions.certificate_state(cert, local_today()),
    )


@bp.get("/certificates/<number>")
@api("certificates.view", "training:read")
@spec.validate(resp=_r({"HTTP_200": s.Certificate}, 404), tags=["certificates"])
def get_certificate(number: str):
    """A certificate by its number."""
    return _cert_out(_certificate(number))


@bp.get("/certificates/<number>/pdf")
@api("certificates.view", "training:read")
@spec.validate(resp=_r({"HTTP_200": None}, 404), tags=["certificates"])
def certificate_pdf(number: str):
    """The certificate as PDF (application/pdf)."""
    pdf = completions.certificate_pdf(db.session, _certificate(number))
    return Response(pdf, mimetype="application/pdf")


@bp.get("/verify/<code>")
@api("login", "training:read")
@spec.validate(resp=_r({"HTTP_200": s.Certificate}, 400, 404), tags=["certificates"])
def verify_certificate(code: str):
    """Verify a certificate by its verification code."""
    return _cert_out(completions.find_by_code(db.session, code))


# ----- sessions and enrolments -----------------------------------------------------------------


def _ts(t: TrainingSession) -> s.TrainingSession:
    return s.TrainingSession(
        id=t.id,
        program_id=t.program_id,
        version_id=t.version_id,
        instructor_id=t.instructor_id,
        department_id=t.department_id,
        starts_at=t.starts_at,
        ends_at=t.ends_at,
        place=t.place,
        capacity=t.capacity,
        status=t.status,
    )


@bp.get("/sessions")
@api("sessions.view_all", "training:read")
@spec.validate(query=s.SessionQuery, resp=_r({"HTTP_200": s.SessionList}), tags=["sessions"])
def list_sessions(query: s.SessionQuery):
    """Scheduled sessions, by start time."""
    total, rows = _page(queries.sessions_stmt(query.program_id, query.since), query)
    return s.SessionList(
        items=[_ts(t) for t in rows], page=query.page, per_page=query.per_page, total=total
    )


@bp.get("/sessions/<int:session_id>/enrolments")
@api("sessions.view_all", "training:read")
@spec.validate(resp=_r({"HTTP_200": s.EnrolmentList}, 404), tags=["sessions"])
def list_enrolments(session_id: int):
    """The enrolments of a session."""
    ts = _get(TrainingSession, session_id)
    return s.EnrolmentList(
        items=[
            s.Enrolment(id=e.id, session_id=e.session_id, person_id=e.user_id, status=e.status)
            for e in queries.enrolments_of(db.session, ts.id)
        ]
    )


@bp.post("/sessions/<int:session_id>/enrolments")
@api("sessions.run", "sessions:write")
@spec.validate(
    json=s.EnrolmentIn, resp=_r({"HTTP_201": s.EnrolResult}, 400, 404, 409), tags=["sessions"]
)
def enrol(session_id: int, json: s.EnrolmentIn):
    """Enrol a person in a session (waitlisted when full), with the pages' rules."""
    _get(TrainingSession, session_id)
    _get(User, json.person_id)
    ts = sessions.managed_session(db.session, g.api_user, session_id)
    result = sessions.invite_person(db.session, ts, json.person_id, g.api_user)
    out = s.EnrolResult(
        enrolled=[u.id for u in result.enrolled],
        waitlisted=[u.id for u in result.waitlisted],
        skipped=[u.id for u in result.skipped],
    )
    return out, 201
