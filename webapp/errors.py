"""Errors the operations layer raises; views turn them into pages or JSON problems."""

from __future__ import annotations

from collections.abc import Iterable

from workflows.refusal import Refusal


def english(said: Refusal | str) -> str:
    """A refusal or a plain sentence, in English."""
    return said.english if isinstance(said, Refusal) else str(said)


class OperationError(Exception):
    """A use case refused; ``message`` is for people, ``status`` for HTTP.

    The use case gives why as a ``Refusal`` (a stable code and a message id with its values,
    said in the reader's language where shown, in English to the API and in logs) or a plain
    sentence. ``refusals`` are further reasons, as given: guards' Refusals or plain sentences;
    ``reasons`` says them in the reader's language.
    """

    status = 400

    def __init__(self, message: Refusal | str, reasons: Iterable[Refusal | str] = ()):
        super().__init__(english(message))
        self.said = message
        self.refusals: tuple[Refusal | str, ...] = tuple(reasons)

    @property
    def message(self) -> str:
        """Why, in the reader's language."""
        return str(self.said)

    @property
    def english(self) -> str:
        return english(self.said)

    @property
    def code(self) -> str:
        """A stable name for why, for programs; empty for a plain sentence."""
        return self.said.code if isinstance(self.said, Refusal) else ""

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

    Forms show each message at its field in the reader's language, the API answers 422 with
    the same messages in English (``english_errors``).
    """

    status = 422

    def __init__(self, errors: dict[str, list[Refusal | str]],
                 message: Refusal | str = "Some values are not valid: see each field."):
        super().__init__(message)
        self.given = errors

    @property
    def errors(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self.given.items()}

    @property
    def english_errors(self) -> dict[str, list[str]]:
        return {name: [english(m) for m in messages] for name, messages in self.given.items()}
