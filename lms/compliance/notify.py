"""The notifications page: everyone's own messages from the outbox, and marking them read.

The views are added to the compliance blueprint by ``register(bp)``, called at the end of
``lms/compliance/routes.py`` (this module cannot import the blueprint itself without a cycle).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.widgets import HiddenInput

from lms.compliance import reminders
from lms.core import nav
from lms.core.forms import an_id, optional
from lms.core.http import page_arg
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db

PER_PAGE = 50
_REGISTERED: set[str] = set()  # blueprints the views were added to


class ReadForm(FlaskForm):
    """Mark one message (message_id) or, without it, all of one's messages as read."""

    message_id = IntegerField(widget=HiddenInput(), validators=[optional(), an_id()])
    submit = SubmitField(_l("Mark all as read"))


@requires("login")
def notifications():
    page = paginate(
        db.session, reminders.notifications_select(current_user.id), page_arg(), PER_PAGE
    )
    return render_template(
        "compliance/notifications.html",
        page=page,
        unread=reminders.unread_count(db.session, current_user.id),
        form=ReadForm(),
    )


@requires("login")
def notifications_read():
    form = ReadForm()
    if not form.validate_on_submit():
        abort(400)
    changed = reminders.mark_read(db.session, current_user.id, form.message_id.data)
    flash(
        ngettext(
            "%(num)d notification marked as read.", "%(num)d notifications marked as read.", changed
        ),
        "success",
    )
    return redirect(url_for("compliance.notifications"))


def register(bp: Blueprint) -> None:
    """Add the notification views to the compliance blueprint (once) and the nav entry."""
    if bp.name in _REGISTERED:
        return
    bp.add_url_rule("/notifications", "notifications", notifications)
    bp.add_url_rule(
        "/notifications/read", "notifications_read", notifications_read, methods=["POST"]
    )
    _REGISTERED.add(bp.name)
    nav.register(_l("Notifications"), "compliance.notifications", "login", order=95)
