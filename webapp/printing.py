"""PDFs of our own documents: a template rendered in the programme's language and printed by
WeasyPrint, which may read citypair's static files and nothing else."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale


def static_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher for the files under ``root``: no network, no other file."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = root.resolve()

    class StaticOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            parts = urlsplit(url)
            path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
            if path is None or not path.is_file() or not path.is_relative_to(root):
                raise ValueError(f"not a static file of citypair: {url}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return StaticOnly(allowed_protocols=("file",))


def pdf_from_template(template: str, **context: Any) -> bytes:
    """``template`` printed to PDF; stylesheets are linked relative to the static folder."""
    # WeasyPrint takes a second to import: only the PDF downloads pay for it.
    from weasyprint import HTML

    root = Path(current_app.static_folder or "static").resolve()
    # Documents are binding in the programme's language, whoever downloads them.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        page = render_template(template, **context)
    return HTML(string=page, base_url=root.as_uri() + "/",
                url_fetcher=static_fetcher(root)).write_pdf()
