"""What the audit log's stored keys mean to a reader: actions and object kinds, translated.

The log stores short English keys ("revoke", "completion"); pages and exports show these
labels in the reader's language. A key without a label is shown as the key in angle quotes,
so a missing label is visible rather than passing for a word (tests/core/test_audit_labels.py
checks that every key the code writes has one).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "access": _l("access recorded"),
    "acknowledge": _l("acknowledged"),
    "acknowledge_failed": _l("acknowledgment refused"),
    "activate": _l("activated"),
    "add_candidate": _l("candidate added"),
    "appoint": _l("appointed"),
    "attach": _l("attached"),
    "cancel": _l("cancelled"),
    "change": _l("changed"),
    "change_password": _l("password changed"),
    "close": _l("closed"),
    "complete": _l("completed"),
    "correct": _l("corrected"),
    "countersign": _l("countersigned"),
    "create": _l("created"),
    "deactivate": _l("deactivated"),
    "delete": _l("deleted"),
    "designate": _l("designated"),
    "end": _l("ended"),
    "enrol": _l("enrolled"),
    "expire": _l("expired"),
    "export": _l("exported"),
    "flag": _l("flagged"),
    "grant_attempts": _l("attempts granted"),
    "hr_import": _l("HR import"),
    "hr_sync": _l("HR synchronisation"),
    "import": _l("imported"),
    "issue": _l("issued"),
    "login_failed": _l("sign-in failed"),
    "login_unlock": _l("sign-in unlocked"),
    "mail_retry": _l("e-mail resent"),
    "mark": _l("attendance marked"),
    "move": _l("moved"),
    "nominate": _l("nominated"),
    "open": _l("opened"),
    "promote": _l("promoted from the waiting list"),
    "reject": _l("rejected"),
    "resign": _l("signed again"),
    "results": _l("results recorded"),
    "retire": _l("retired"),
    "revoke": _l("revoked"),
    "revoke_failed": _l("revocation refused"),
    "set_pin": _l("PIN set"),
    "sign": _l("signed"),
    "sign_failed": _l("signature refused"),
    "start": _l("started"),
    "submit": _l("submitted"),
    "tick": _l("ticked"),
    "trigger": _l("triggered"),
    "update": _l("updated"),
    "waitlist": _l("put on the waiting list"),
    "walk_in": _l("walk-in added"),
    "withdraw": _l("withdrawn"),
}

OBJECTS = {
    "api_token": _l("API token"),
    "attempt": _l("quiz attempt"),
    "attempt_grant": _l("extra attempts"),
    "briefing_register": _l("briefing register"),
    "certificate_template": _l("certificate template"),
    "certificates": _l("certificates"),
    "completion": _l("completion"),
    "department": _l("department"),
    "designation": _l("designation"),
    "exam_access_journal": _l("exam access journal"),
    "exam_checklist_item": _l("exam checklist item"),
    "exam_point": _l("exam point"),
    "exam_protocol": _l("exam protocol"),
    "exam_session": _l("exam"),
    "incident": _l("incident"),
    "issued_document": _l("issued document"),
    "outbox": _l("outgoing e-mail"),
    "program": _l("program"),
    "program_version": _l("program version"),
    "question": _l("question"),
    "regimes": _l("regimes of the organisation"),
    "requirement": _l("requirement"),
    "session": _l("session"),
    "session_acknowledgment": _l("acknowledgment"),
    "session_attendance": _l("attendance"),
    "session_enrolment": _l("enrolment"),
    "support_agent": _l("support staff"),
    "support_answer_times": _l("support answer times"),
    "topic": _l("topic"),
    "training_session": _l("session"),
    "unscheduled_briefing": _l("unscheduled briefing"),
    "user": _l("person"),
}


def _label(table: dict[str, Any], key: str | None) -> str:
    if not key:
        return ""
    label = table.get(key)
    return str(label) if label is not None else f"‹{key}›"


def action_label(key: str | None) -> str:
    """The action in the reader's language; an unknown key as ‹key›."""
    return _label(ACTIONS, key)


def object_label(key: str | None) -> str:
    """The object kind in the reader's language; an unknown key as ‹key›."""
    return _label(OBJECTS, key)


def install(env) -> None:  # type: ignore[no-untyped-def]
    env.filters["audit_action"] = action_label
    env.filters["audit_object"] = object_label
