"""Small guards used by several blueprints."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter

#: the largest id an integer column holds (PostgreSQL's integer, 32 bits)
MAX_ID = 2**31 - 1


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects).

    A target with a control character or a space in it (a header split, or a tab that
    browsers drop to make ``/\t/host`` a foreign address) is refused with a 400.
    """
    if not target:
        return None
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target):
        from flask import abort

        abort(400)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def as_id(text: str | None) -> int | None:
    """The whole number ``text`` spells when an id (or version) column can hold it, else None:
    no other digits than 0-9, nothing beyond ``MAX_ID``, so it never reaches the database."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


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


def private_dir(path: Path) -> Path:
    """``path`` as a folder only this account can enter (0700), created if need be."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by this account alone (0600), in a 0700 folder:
    instance files hold live links, uploads and personal data."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)  # a file left over from before keeps its old mode otherwise
