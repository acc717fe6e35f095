"""Wiring: extensions, blueprints, request lifecycle, security headers, error pages."""

from __future__ import annotations

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lms import cli, domains, ops
from lms.accounts.forms import LanguageForm
from lms.accounts.models import User, in_locale
from lms.config import ROOT
from lms.core import afterwork, audit_labels, dates, i18n, nav, texts
from lms.core.errors import DomainError
from lms.core.http import DatabaseIntConverter, safe_next
from lms.core.markdown import render as render_markdown
from lms.core.permissions import enforce_declared, has_permission
from lms.extensions import babel, configure_engine, csrf, db, limiter, login_manager, migrate

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

ERROR_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
}


def init_app(app: Flask) -> None:
    ops.init_app(app, app.config["LMS_CONFIG"])
    # before any blueprint: every <int:...> in a route is bounded to the database's range
    app.url_map.converters["int"] = DatabaseIntConverter
    domains.load_models()
    db.init_app(app)
    configure_engine(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    app.before_request(_refuse_large_body)  # first: before CSRF reads the form
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    _init_login(app)

    for bp in domains.blueprints():
        app.register_blueprint(bp)

    app.before_request(enforce_declared)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)
    _init_errors(app)
    _init_templates(app)
    cli.init_app(app)


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(ident: str):
        try:
            user_id, version = (int(x) for x in ident.split(":", 1))
        except ValueError:
            return None
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.method == "GET":
            flash(_("Please sign in to see this page."), "info")
            return redirect(url_for("accounts.login", next=safe_next(request.full_path)))
        return render_template("errors/error.html", code=401, message=_("Please sign in.")), 401


def _refuse_large_body() -> None:
    """413 before anything reads a body that is declared larger than the limit (a body sent
    without a length is cut at the limit when it is read, also a 413)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


def _finish_transaction(response):
    """One transaction per request: commit on success, roll back on any error status."""
    if response.status_code < 400:
        db.session.commit()
        afterwork.run_pending()
    else:
        db.session.rollback()
        afterwork.drop_pending()
    return response


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def _error_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Check the form and try again."),
        401: _("Please sign in."),
        403: _("You do not have permission to see this page."),
        404: _("There is no such page."),
        405: _("This address does not accept that kind of request."),
        409: _("This conflicts with what is already recorded."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. The error was logged."),
    }


def _init_errors(app: Flask) -> None:
    def render(code: int, message: str | None = None):
        db.session.rollback()
        return (
            render_template(
                "errors/error.html", code=code, message=message or _error_messages()[code]
            ),
            code,
        )

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return render(
            400,
            _(
                "The form has expired or was not sent from this site. "
                "Reload the page and try again."
            ),
        )

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        return render(err.status_code, err.message)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = err.code or 500
        if code not in ERROR_TITLES:
            return err
        return render(code)

    @app.errorhandler(Exception)
    def unhandled(err: Exception):
        app.logger.exception("unhandled error")
        if app.testing or app.config.get("PROPAGATE_EXCEPTIONS"):
            raise err  # tests see the real error instead of a friendly 500 page
        return render(500)


def _init_templates(app: Flask) -> None:
    @app.context_processor
    def inject():
        def language_form():
            # formdata=None: never read the request body here, the error pages use it too
            # (a body over the limit would raise again while its 413 page is drawn)
            form = LanguageForm(formdata=None, next=request.full_path.rstrip("?"))
            form.lang.choices = list(i18n.LANGUAGE_NAMES.items())
            form.lang.data = str(babel_locale())
            return form

        def can(permission: str) -> bool:
            return current_user.is_authenticated and current_user.can(permission)

        def can_write(permission: str) -> bool:
            """Show a button that posts only to those whose post would be accepted (an
            auditor reads and never writes)."""
            return current_user.is_authenticated and current_user.can_write(permission)

        def nav_items():
            return nav.items_for(current_user) if current_user.is_authenticated else []

        def home_panels():
            return nav.home_panels_for(current_user) if current_user.is_authenticated else []

        return {
            "home_panels": home_panels,
            "nav_items": nav_items,
            "language_form": language_form,
            "can": can,
            "can_write": can_write,
            "organisation": app.config["LMS_CONFIG"].organisation_name,
            "LANGUAGE_NAMES": i18n.LANGUAGE_NAMES,
            "has_permission": has_permission,
        }

    def babel_locale():
        return get_locale()

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.globals["current_locale"] = babel_locale
    dates.install(app.jinja_env)
    audit_labels.install(app.jinja_env)
    texts.install(app.jinja_env)
    # a name given in several languages (departments, job titles): the reader's, else the default
    app.jinja_env.filters["local"] = lambda names, default: in_locale(names, default or "")
    app.jinja_env.filters["number"] = lambda v: format_decimal(v) if v is not None else ""
