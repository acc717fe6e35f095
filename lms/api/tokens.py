"""Create, check and revoke API tokens. The secret is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.api.models import SCOPES, ApiToken
from lms.core import audit
from lms.core.errors import DomainError
from lms.core.model import utcnow

PREFIX = "brg_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session, *, name: str, user: User, scopes: Iterable[str], actor_id: int | None
) -> tuple[ApiToken, str]:
    """A new token acting as ``user`` with ``scopes``; returns the row and the secret (once)."""
    scopes = sorted(set(scopes))
    if not name.strip():
        raise DomainError(_("Give the token a name."), field="name")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise DomainError(_("Choose at least one known scope."), field="scopes")
    if not user.active:
        raise DomainError(_("The person is not active."), field="user_id")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip()[:100],
        prefix=secret[:12],
        token_hash=_hash(secret),
        scopes=" ".join(scopes),
        user_id=user.id,
        created_by_id=actor_id,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor_id, "create", "api_token", token.id, token.name, scopes=scopes)
    return token, secret


def revoke_token(session, token: ApiToken, actor_id: int | None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor_id, "revoke", "api_token", token.id, token.name)


def find_token(session, secret: str) -> ApiToken | None:
    """The token with this secret (revoked or not), or None."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    return session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == _hash(secret))
    ).scalar_one_or_none()


def all_tokens(session) -> list[ApiToken]:
    return list(session.execute(sa.select(ApiToken).order_by(ApiToken.created_at.desc())).scalars())
