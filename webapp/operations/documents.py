"""Uploads: checked by content and size, stored once by their SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

import puremagic
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from webapp.errors import OperationError
from webapp.models import Document, User
from webapp.safety import write_private

PDF = "application/pdf"


class UploadRefused(OperationError):
    status = 400


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def sniff(head: bytes) -> str:
    """The content type the bytes themselves show (not what the browser claimed)."""
    if head.startswith(b"%PDF-"):
        return PDF
    try:
        return puremagic.from_string(head, mime=True) or "application/octet-stream"
    except puremagic.PureError:
        return "application/octet-stream"


def blob_path(sha256: str) -> Path:
    """Where the bytes of a document live."""
    return Path(current_app.config["UPLOAD_DIR"]) / sha256[:2] / sha256


#: the longest file name kept (the column holds 255 characters)
MAX_FILENAME = 255


def stored_filename(filename: str) -> str:
    """A safe file name to keep: only plain characters, at most ``MAX_FILENAME`` of them, its
    extension kept when the name is cut."""
    name = secure_filename(filename or "") or "upload.pdf"
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        return name[:MAX_FILENAME]
    return f"{stem[:MAX_FILENAME - len(ext) - 1]}.{ext}"


def _written_now(session: Session) -> set[str]:
    # The blobs this transaction added to the disk, removed again should it roll back.
    return session.info.setdefault("new_blobs", set())


@event.listens_for(Session, "after_rollback")
def _forget_new_blobs(session: Session) -> None:
    written = session.info.pop("new_blobs", set())
    if not written:
        return
    try:
        with session.get_bind().connect() as conn:
            # Another transaction may have stored the same bytes meanwhile and kept them.
            kept = set(conn.scalars(select(Document.sha256).where(
                Document.sha256.in_(written))))
    except SQLAlchemyError:
        return  # the database is away: an orphan file is harmless, a lost one is not

    for sha in written - kept:
        blob_path(sha).unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _keep_new_blobs(session: Session) -> None:
    session.info.pop("new_blobs", None)


def store(session: Session, stream: IO[bytes], filename: str, *, kind: str, user: User | None,
          case_id: int | None = None, allowed: tuple[str, ...] = (PDF,)) -> Document:
    """Check and store an upload in the caller's transaction; UploadRefused says why not."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise UploadRefused(_("The selected file is empty."))
    if len(data) > limit:
        raise UploadRefused(_("The selected file must be smaller than %(size)s.",
                               size=_size(limit)))
    content_type = sniff(data[:4096])
    if content_type not in allowed:
        raise UploadRefused(_("The selected file must be a PDF.") if allowed == (PDF,)
                            else _("The selected file is not of an accepted type."))
    sha = hashlib.sha256(data).hexdigest()
    path = blob_path(sha)
    if not path.exists():
        tmp = path.with_suffix(".part")
        write_private(tmp, data)
        tmp.replace(path)  # atomic: a reader never sees half a file
        _written_now(session).add(sha)
    doc = Document(sha256=sha, filename=stored_filename(filename),
                   content_type=content_type, size=len(data), kind=kind, case_id=case_id,
                   uploaded_by_id=user.id if user else None)
    session.add(doc)
    session.flush()
    return doc
