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


class LowerTerm(Term):
    """A label said inside a sentence, in lower case once translated ("a region")."""

    __slots__ = ()


class Country(str):
    """An ISO country code, named in the reader's language when shown."""

    __slots__ = ()


@dataclass(frozen=True)
class Terms:
    """Several labels said as one list ("A, B, C"), each translated when shown; without
    ``sep``, as a sentence lists them ("A, B and C") in the reader's language."""

    items: tuple[Any, ...]  # Terms and Refusals are said in the reader's language
    sep: str | None = ", "


def terms(items: Iterable[Any], sep: str | None = ", ") -> Terms:
    return Terms(tuple(items), sep)


def listing(items: Iterable[Any]) -> Terms:
    """Items said as a sentence lists them: "A", "A and B", "A, B and C"."""
    return Terms(tuple(items), None)


def english_listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def english_number(n: int | float) -> str:
    return f"{n:,}"


def english_country(code: str) -> str:
    from workflows.countries import country_name

    return country_name(code)


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
           when: Callable[[datetime], str], *,
           number: Callable[[int | float], str] = english_number,
           lists: Callable[[list[str]], str] = english_listing,
           country: Callable[[str], str] = english_country) -> str:
    """``r`` said with ``translate`` for messages and labels, ``when`` for times, ``number``
    for counts, ``lists`` for a sentence's lists and ``country`` for country codes."""

    def value(v: Any) -> Any:
        if isinstance(v, Term):
            said = translate(str(v))
            return said.lower() if isinstance(v, LowerTerm) else said
        if isinstance(v, Country):
            return country(str(v))
        if isinstance(v, Refusal):
            return render(v, translate, when, number=number, lists=lists, country=country)
        if isinstance(v, Terms):
            items = [str(value(i)) for i in v.items]
            return lists(items) if v.sep is None else v.sep.join(items)
        if isinstance(v, datetime):
            return when(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return number(v)
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


def to_data(r: Refusal) -> dict[str, Any]:
    """``r`` as JSON data, to be said again later in whoever reads it."""
    return {"code": r.code, "msgid": r.msgid,
            "params": {k: _dump(v) for k, v in r.params.items()}}


def from_data(data: Mapping[str, Any]) -> Refusal:
    """The refusal ``to_data`` wrote."""
    return Refusal(data.get("code", ""), data["msgid"], MappingProxyType(
        {k: _load(v) for k, v in (data.get("params") or {}).items()}))


def _dump(v: Any) -> Any:
    if isinstance(v, Refusal):
        return {"refusal": to_data(v)}
    if isinstance(v, Term):
        return {"term": str(v), "lower": isinstance(v, LowerTerm)}
    if isinstance(v, Country):
        return {"country": str(v)}
    if isinstance(v, Terms):
        return {"terms": [_dump(i) for i in v.items], "sep": v.sep}
    if isinstance(v, datetime):
        return {"time": v.isoformat()}
    return v


def _load(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "refusal" in v:
        return from_data(v["refusal"])
    if "term" in v:
        return (LowerTerm if v.get("lower") else Term)(v["term"])
    if "country" in v:
        return Country(v["country"])
    if "terms" in v:
        return Terms(tuple(_load(i) for i in v["terms"]), v.get("sep"))
    if "time" in v:
        return datetime.fromisoformat(v["time"])
    return v
