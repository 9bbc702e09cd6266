"""Why something may not be done: a message id with its parameters, said in the reader's
language where it is shown.

Guards and the engine stay free of Flask: they return a ``Refusal`` whose message is marked
with ``N_`` (so the translation catalogues extract it) and whose parameters fill its
placeholders. ``str()`` says it in English until the web app installs its own speaker, which
translates the message and every ``Term`` (a definition's label) among the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

PROGRAMME_TZ = ZoneInfo("Europe/Brussels")


def N_(msgid: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return msgid


class Term(str):
    """A label from a definition (a section's title, a field's label): translated when shown."""

    __slots__ = ()


@dataclass(frozen=True)
class Terms:
    """Several labels said as one list ("A, B, C"), each translated when shown."""

    items: tuple[Any, ...]  # Terms and Refusals are said in the reader's language
    sep: str = ", "


def terms(items: Iterable[Any], sep: str = ", ") -> Terms:
    return Terms(tuple(items), sep)


def brussels(dt: datetime) -> str:
    """A time as the programme states it in English: Brussels time, to the minute."""
    return dt.astimezone(PROGRAMME_TZ).strftime("%d %B %Y, %H:%M") + " Brussels time"


@dataclass(frozen=True)
class Refusal:
    """One reason why an action is refused: a stable ``code`` for programs, an English
    ``msgid`` with ``%(name)s`` placeholders, and the values that fill them."""

    code: str
    msgid: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def english(self) -> str:
        return render(self, lambda s: s, brussels)

    def __str__(self) -> str:
        return _speaker(self)


def refusal(code: str, msgid: str, **params: Any) -> Refusal:
    """A refusal; ``msgid`` must be wrapped in ``N_`` where it is written."""
    return Refusal(code, msgid, MappingProxyType(params))


def render(r: Refusal, translate: Callable[[str], str],
           when: Callable[[datetime], str]) -> str:
    """``r`` said with ``translate`` for messages and labels and ``when`` for times."""

    def value(v: Any) -> Any:
        if isinstance(v, Term):
            return translate(str(v))
        if isinstance(v, Refusal):
            return render(v, translate, when)
        if isinstance(v, Terms):
            return v.sep.join(str(value(i)) for i in v.items)
        if isinstance(v, datetime):
            return when(v)
        return v

    text = translate(r.msgid)
    return text % {k: value(v) for k, v in r.params.items()} if r.params else text


def english(r: Refusal) -> str:
    return r.english


_speaker: Callable[[Refusal], str] = english


def speak_with(speaker: Callable[[Refusal], str]) -> None:
    """Say every refusal with ``speaker`` from now on (the web app: in the reader's language)."""
    global _speaker
    _speaker = speaker


def say(reason: Refusal | str) -> str:
    """A reason as the reader reads it; a plain sentence stays as it is."""
    return str(reason)
