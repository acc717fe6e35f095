"""Typed domain errors. Services raise them; routes turn them into a message and a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule was broken. The message is meant for a person."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class ConfigError(RuntimeError):
    """The configuration cannot start the application."""
