"""Languages, time zones and the date formats people see."""

from __future__ import annotations

import ast
import io
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from workflows import countries

#: each language named in itself, as the language switcher offers it
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "pt": "Português"}


def select_locale() -> str:
    """The signed-in person's language, else the one they picked, else the browser's."""
    if not has_request_context():
        # Workers and commands have no visitor; mail picks its recipient's with force_locale.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    langs = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    if session.get("lang") in langs:
        return session["lang"]
    return request.accept_languages.best_match(langs) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The signed-in person's time zone, else the programme's."""
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["PROGRAMME_TIMEZONE"]


def in_zone(dt: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """A UTC time shown in ``tz`` (or the viewer's zone), with the zone's name."""
    if dt is None:
        return ""
    zone = ZoneInfo(tz or select_timezone())
    local = dt.astimezone(zone)
    return f"{format_datetime(local.replace(tzinfo=None), fmt, rebase=False)} ({local.tzname()})"


def reader_locale() -> str:
    """The language the current page or e-mail is written in."""
    return str(get_locale() or "en")


def country_name(code: str | None, locale: str | None = None) -> str:
    """A country's name in the reader's language (or ``locale``) from its ISO code; a stored
    value that is not a code is shown as it is."""
    return countries.country_name(code, locale or reader_locale())


def country_names(codes: Iterable[str] | None, locale: str | None = None) -> str:
    """Countries named in the reader's language, in the order of their names, comma-separated."""
    names = [country_name(c, locale) for c in codes or ()]
    return ", ".join(sorted(names, key=countries.sort_key))


def is_eu27(codes: Iterable[str] | None) -> bool:
    """Whether ``codes`` are exactly the 27 EU member states."""
    return set(codes or ()) == set(countries.EU_MEMBER_STATES)


#: the labels people read in the programme's definitions, which stay free of Flask: for each
#: constructor, the positions and keywords of its label arguments. Pages translate them on show.
LABEL_ARGUMENTS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "State": ((2, 3, 4), ("staff_label", "applicant_label", "stage", "future_label")),
    "Transition": ((4,), ("label",)),
    "Field": ((1,), ("label", "hint")),
    "DeadlineSpec": ((1,), ("label",)),
    "Section": ((1,), ("title", "hint")),
    "TextField": ((1, 2), ("label", "hint")),
    "Column": ((1,), ("label",)),
    "pairing_proposed": ((0,), ()),
    "agreement_pending": ((0, 1), ()),
}
#: module-level tables whose values are labels
LABEL_TABLES = frozenset({"COMMITMENTS", "ORGANISATION_TYPES", "TITLES", "SECTORS",
                          "FRAMEWORKS", "ACTIVITY_TYPES", "DIRECTIONS"})


def extract_labels(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator:
    """Babel extractor: the gettext calls of a Python file, and its definitions' labels."""
    from babel.messages.extract import extract_python

    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in LABEL_ARGUMENTS:
                positions, names = LABEL_ARGUMENTS[name]
                values = [node.args[i] for i in positions if i < len(node.args)]
                values += [kw.value for kw in node.keywords if kw.arg in names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in LABEL_TABLES for t in targets):
                values = [v for v in node.value.values if v is not None]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                yield value.lineno, None, value.value, []


def compile_catalogues(directory: Path) -> list[Path]:
    """Build each language's .mo from its .po when missing or older; returns those built.

    The compiled files are not kept in the repository: ``make install`` builds them, and the
    test session calls this so a fresh clone runs in every language.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    built = []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalogue)
        tmp.replace(mo)  # parallel test workers never read half a file
        built.append(mo)
    return built


def init_app(app: Flask) -> None:
    app.jinja_env.filters["when"] = in_zone
    app.jinja_env.filters["number"] = format_decimal  # 100,000 / 100 000 / 100.000
    app.jinja_env.filters["country_name"] = country_name
    app.jinja_env.filters["country_names"] = country_names
    app.jinja_env.tests["eu27"] = is_eu27
    app.jinja_env.globals["get_locale"] = lambda: str(get_locale())
    app.jinja_env.globals["language_names"] = {
        code: LANGUAGE_NAMES.get(code, code) for code in app.config["LANGUAGES"]}
    folder = Path(app.root_path) / "translations"
    uncompiled = [code for code in app.config["LANGUAGES"]
                  if (folder / code / "LC_MESSAGES" / "messages.po").exists()
                  and not (folder / code / "LC_MESSAGES" / "messages.mo").exists()]
    if uncompiled:
        app.logger.warning("Catalogues not compiled for %s: those pages show English until "
                           "`make install` (pybabel compile) builds them.", ", ".join(uncompiled))
