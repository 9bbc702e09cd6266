"""Errors the operations layer raises; views turn them into pages or JSON problems."""

from __future__ import annotations

from collections.abc import Iterable

from workflows.refusal import Refusal


class OperationError(Exception):
    """A use case refused; ``message`` is for people, ``status`` for HTTP.

    ``refusals`` are the reasons as given: guards' Refusals (a code and a message id) or plain
    sentences; ``reasons`` says them in the reader's language.
    """

    status = 400

    def __init__(self, message: str, reasons: Iterable[Refusal | str] = ()):
        super().__init__(message)
        self.message = message
        self.refusals: tuple[Refusal | str, ...] = tuple(reasons)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(r) for r in self.refusals)


class NotFound(OperationError):
    status = 404


class Forbidden(OperationError):
    status = 403


class Conflict(OperationError):
    """Someone else changed the case first."""

    status = 409


class Refused(OperationError):
    """A transition's guards or fields refused it."""

    status = 422


class Invalid(OperationError):
    """Some values are not valid; ``errors`` maps each field to what is wrong with it.

    Forms show each message at its field, the API answers 422 with the same messages.
    """

    status = 422

    def __init__(self, errors: dict[str, list[str]],
                 message: str = "Some values are not valid: see each field."):
        super().__init__(message)
        self.errors = errors
