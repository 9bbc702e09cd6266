"""Small guards used by several blueprints."""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter

#: the largest id an integer column holds (PostgreSQL's integer, 32 bits)
MAX_ID = 2**31 - 1


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def refuse_nul_bytes() -> None:
    """Refuse a request whose address, query or form carries a NUL character.

    Nobody types one, and PostgreSQL cannot store one: without this, such a request would
    reach the database and fail there.
    """
    from flask import abort, request

    # Every value of a repeated field counts, not only the first one values() gives.
    values = [request.path, *(p for item in request.args.items(multi=True) for p in item)]
    if request.method in ("POST", "PUT", "PATCH"):
        values += [p for item in request.form.items(multi=True) for p in item]
    if any("\x00" in v for v in values):
        abort(400)


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded by what an id column holds: a larger number is a 404, never a
    database error."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
