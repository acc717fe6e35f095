"""People search: the one place that turns what someone typed into a filter on people.

Every people search (the admin's people list, the API's filter, the auditor's certificate
search) calls :func:`person_matches`. It reads ``User.search_text`` (the name, patronymic and
e-mail as people type them: see ``lms.core.textsearch``), so "klavina", "KLAVINA", "Kļaviņa" and
"Клавиня" find Kļaviņa on SQLite and PostgreSQL alike; on PostgreSQL the column has a trigram
index, so part of a name is found without reading every person.
"""

from __future__ import annotations

import sqlalchemy as sa

from lms.accounts.models import SEARCH_TEXT_MAX, User
from lms.core.textsearch import LIKE_ESCAPE, like_pattern, search_key


def person_matches(q: str, *, job_title: bool = False) -> sa.ColumnElement[bool] | None:
    """A filter on ``User`` for the typed ``q`` (None when nothing was typed). Wildcards
    (``%``, ``_``) and punctuation match themselves; text longer than any stored search
    text matches nobody without asking the database to try. ``job_title`` also looks in
    the job title (the admin's list)."""
    text = (q or "").strip()
    if not text:
        return None
    if len(text) > SEARCH_TEXT_MAX:
        return sa.false()
    key = search_key(text)
    if not key:  # e.g. only combining marks: nothing a name could contain
        return sa.false()
    clauses = [User.search_text.like(like_pattern(key), escape=LIKE_ESCAPE)]
    if job_title:
        clauses.append(
            sa.func.lower(User.job_title).like(like_pattern(text.lower()), escape=LIKE_ESCAPE)
        )
    return sa.or_(*clauses)
