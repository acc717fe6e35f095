"""The admin's list of e-mails set aside (refused for good, or failed too often), and sending
one again once the address is put right. Registered on the compliance blueprint by
``register(bp)`` at the end of ``lms/compliance/routes.py``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.forms import ConfirmForm
from lms.compliance import mail
from lms.core import audit, nav
from lms.core.http import page_arg
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db


@requires("accounts.admin")
def mail_failed():
    page = paginate(db.session, mail.set_aside_select(), page_arg(), 50, scalars=False)
    return render_template("compliance/mail_failed.html", page=page, form=ConfirmForm())


@requires("accounts.admin")
def mail_retry(msg_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not mail.send_again(db.session, msg_id):
        abort(404)
    audit.record(db.session, current_user.id, "mail_retry", "outbox", msg_id, "")
    flash(_("The message is queued again and goes out with the next delivery run."), "success")
    return redirect(url_for("compliance.mail_failed")), 303


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/mail/failed", view_func=mail_failed)
    bp.add_url_rule("/mail/failed/<int:msg_id>/retry", view_func=mail_retry, methods=["POST"])
    nav.register(
        _l("Undelivered e-mail"),
        "compliance.mail_failed",
        "accounts.admin",
        order=90,
        group="admin",
    )
