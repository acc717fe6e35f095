"""The demo's help desk: an HR specialist on the first line, the maintenance technician on
the second (the administrator is the third), and two help requests from employees: one just
raised, one answered and passed on to the second line. Idempotent: nothing is added when
anyone is already appointed."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from lms.support import services
from lms.support.models import SupportAgent

FIRST_LINE = "emp16"
SECOND_LINE = "emp18"
# What the people wrote, in their own language (content, not interface text).
QUIZ_PROBLEM = (
    "Не открывается тест по пожарной безопасности",
    "Нажимаю «Начать тест», страница перезагружается и ничего не происходит.",
)
PIN_PROBLEM = (
    "Nevaru parakstīties par instruktāžu",
    "Ievadu PIN, bet sistēma saka, ka tas ir nepareizs.",
)


def load_demo(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    if session.execute(sa.select(SupportAgent.id).limit(1)).scalar():
        return
    admin = users["admin"]
    services.appoint(session, user_id=users[FIRST_LINE].id, line=1, actor_id=admin.id)
    services.appoint(session, user_id=users[SECOND_LINE].id, line=2, actor_id=admin.id)
    services.raise_request(
        session,
        users["emp03"],
        subject=QUIZ_PROBLEM[0],
        description=QUIZ_PROBLEM[1],
        category="quiz",
        context=services.Context(page="/learning/", language="ru", browser="Firefox 128"),
    )
    stuck = services.raise_request(
        session,
        users["employee"],
        subject=PIN_PROBLEM[0],
        description=PIN_PROBLEM[1],
        category="access",
        context=services.Context(page="/account", language="lv", browser="Chrome 131"),
    )
    services.reply(
        session, stuck, users[FIRST_LINE], "Lūdzu, iestatiet PIN vēlreiz savā konta lapā."
    )
    services.reply(session, stuck, users["employee"], "Iestatīju, bet tas joprojām neder.")
    services.escalate(session, stuck, users[FIRST_LINE], "PIN nav pieņemts arī pēc atjaunošanas.")
    echo("Help desk: first and second line appointed, 2 help requests.")
