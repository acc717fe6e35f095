"""The sign-in limit: failed sign-ins per account and per client address, in one window.

``LMS_LOGIN_LIMIT`` (default ``10 per minute``) failures are allowed per account and, apart,
per address, in a fixed window; then that account (or address) is refused until the window
ends, with the time it can try again. Someone guessing at an account from one address locks
that account for at most one window, and the person can still sign in from elsewhere once it
ends; an admin can lift the lock at once.

The counters live in flask-limiter's storage (Redis with ``LMS_REDIS_URL``, else a file shared
by every worker: ``lms.core.ratestore``), never in one process's memory, so the limit is exact
whatever the number of web processes or machines: each attempt first takes one unit from both
budgets atomically; an attempt over either budget is refused and gives its units back, and so
does a successful sign-in. What stays counted is exactly the failures.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from limits import RateLimitItem, parse

from lms.extensions import limiter

NAMESPACE = "login"


def _item() -> RateLimitItem:
    return parse(current_app.config["LMS_CONFIG"].login_limit)


def _keys(email: str, address: str | None) -> list[tuple[str, str]]:
    return [("account", (email or "").strip().lower()), ("address", address or "unknown")]


class Attempt:
    """One sign-in attempt holding its units of both budgets until it is settled."""

    def __init__(self, email: str, address: str | None) -> None:
        self.item = _item()
        self.keys = _keys(email, address)
        self.retry_at: datetime | None = None
        strategy = limiter.limiter
        results = [strategy.hit(self.item, NAMESPACE, kind, ident) for kind, ident in self.keys]
        if not all(results):
            self._give_back()
            storage = limiter.storage
            resets = [
                storage.get_expiry(self.item.key_for(NAMESPACE, kind, ident))
                for (kind, ident), ok in zip(self.keys, results, strict=True)
                if not ok
            ]
            self.retry_at = datetime.fromtimestamp(max(resets), UTC)

    @property
    def refused(self) -> bool:
        return self.retry_at is not None

    def _give_back(self) -> None:
        storage = limiter.storage
        for kind, ident in self.keys:
            key = self.item.key_for(NAMESPACE, kind, ident)
            if storage.get(key) > 0:
                storage.incr(key, self.item.get_expiry(), amount=-1)

    def succeeded(self) -> None:
        """A successful sign-in is not a failure: its units go back."""
        self._give_back()


def locked_until(email: str) -> datetime | None:
    """When the account's lock ends, or None when it is not locked."""
    item = _item()
    stats = limiter.limiter.get_window_stats(item, NAMESPACE, "account", email.strip().lower())
    if stats.remaining > 0:
        return None
    return datetime.fromtimestamp(stats.reset_time, UTC)


def lift(email: str) -> None:
    """Clear the account's failure count (an admin, after checking with the person)."""
    limiter.limiter.clear(_item(), NAMESPACE, "account", email.strip().lower())
