"""Signing in and out, and the idle timeout: the life of a log-in session.

A session cookie (and a remember-me cookie) names the person and their ``session_version``
(``User.get_id``). Signing out, a password change and a deactivation raise the version, so every
cookie issued before stops working on the server's side, copies included. A session that sees no
request for ``LMS_SESSION_IDLE_MINUTES`` ends; the CSRF token is new at each sign-in and expires
with the session.
"""

from __future__ import annotations

from flask import current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from lms.accounts.models import User
from lms.core.model import utcnow

SEEN = "_seen"  # when this session last made a request (seconds since the epoch, UTC)
# what Flask-Login and Flask-WTF keep in the session for a signed-in person
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", SEEN, "csrf_token")
_TOUCH_EVERY = 60  # seconds: refresh the idle clock at most once a minute (fewer cookie writes)


def _now() -> int:
    return int(utcnow().timestamp())


def _idle_seconds() -> int:
    return current_app.config["LMS_CONFIG"].session_idle_minutes * 60


def _new_csrf_token() -> None:
    """Forget the CSRF token: the next form draws a new one (no token outlives a sign-in)."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def begin(user: User, remember: bool = False) -> None:
    """Sign the person in on this browser, with a fresh CSRF token and idle clock."""
    _new_csrf_token()
    login_user(user, remember=remember)
    session[SEEN] = _now()


def end(session_db, user: User) -> None:
    """Sign out everywhere: the session version moves on, so this cookie, its copies and every
    remember-me cookie of the person are refused from now on."""
    user.session_version += 1
    session_db.flush()
    logout_user()
    _new_csrf_token()
    session.pop(SEEN, None)


def check_idle() -> None:
    """before_request: end a session idle for longer than the limit."""
    if request.endpoint == "static" or "_user_id" not in session:
        return
    now = _now()
    seen = session.get(SEEN)
    if isinstance(seen, int) and now - seen > _idle_seconds():
        for key in _LOGIN_KEYS:
            session.pop(key, None)
        g.pop("_login_user", None)
        remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        if remember not in request.cookies:  # "keep me signed in" carries on
            minutes = current_app.config["LMS_CONFIG"].session_idle_minutes
            flash(_("You were signed out after %(n)d minutes without activity.", n=minutes), "info")
        return
    if not isinstance(seen, int) or now - seen >= _TOUCH_EVERY:
        session[SEEN] = now
