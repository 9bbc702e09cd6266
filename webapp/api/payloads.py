"""A transition's payload as the API receives it, checked and typed like the forms do."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from webapp.forms import NoScript
from webapp.operations.cases import field_choices
from webapp.safety import MAX_ID
from workflows.engine import Transition

MAX_TEXT = 4000

#: what a transition may carry beyond its declared fields, for the hooks that read it
EXTRA_FIELDS = {
    "partner_city_id": "the partner city proposed (propose_pairing)",
}


class PayloadError(Exception):
    """Some values of a payload are not valid; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid payload")
        self.errors = errors


def parse_payload(t: Transition, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for firing ``t``: times made aware datetimes, text checked, ids typed.

    Empty or missing fields are left for the engine, which names every required one.
    """
    declared = {f.name: f for f in t.fields}
    errors: dict[str, list[str]] = {}
    payload: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            if key in declared and declared[key].type == "choices":
                payload[key] = _choices(key, value)
            elif key in declared:
                payload[key] = _field(declared[key].type, value)
            elif key == "partner_city_id":
                payload[key] = _positive_int(value)
            else:
                known = sorted([*declared, *EXTRA_FIELDS])
                raise ValueError(f"Unknown field for {t.name}; it takes: {', '.join(known)}.")
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise PayloadError(errors)
    return payload


def _field(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == "datetime":
        return _datetime(value)
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError("Give a date as text, e.g. 2026-12-01.")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("Give a date like 2026-12-01.") from None
    if not isinstance(value, str):
        raise ValueError("Give this as text.")
    if len(value) > MAX_TEXT:
        raise ValueError(f"Keep this under {MAX_TEXT} characters.")
    if "\x00" in value:
        raise ValueError("Remove the NUL character from this text.")
    if "<" in value and ">" in value:
        raise ValueError(NoScript.message)
    return value.strip()


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("Give a time as ISO 8601 text, e.g. 2026-12-01T17:00:00+01:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("Give a time as ISO 8601, e.g. 2026-12-01T17:00:00+01:00.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("Give the time with its offset from UTC, e.g. "
                         "2026-12-01T17:00:00+01:00 or 2026-12-01T16:00:00Z.")
    return parsed.astimezone(UTC)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValueError("Give the id as a positive whole number.")
    return value


def _choices(field: str, value: Any) -> list[str]:
    """A list of names among those the field offers (on any case: the transition checks the
    case's own)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("Give a list of names, e.g. [\"contact\", \"resources\"].")
    offered = [name for name, _label in field_choices(field)]
    unknown = [v for v in value if v not in offered]
    if unknown:
        raise ValueError(f"Unknown: {', '.join(unknown)}. Name them among: "
                         f"{', '.join(offered)}.")
    return list(dict.fromkeys(value))
