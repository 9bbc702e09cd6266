"""Languages, time zones and the date formats people see."""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates
from babel.lists import format_list
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import format_datetime, format_decimal, get_locale, gettext
from flask_login import current_user

from workflows import countries
from workflows.refusal import (
    PROGRAMME_TZ,
    Refusal,
    english_listing,
    from_data,
    render,
    speak_with,
)

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
    """The signed-in person's time zone, else the zone of the call or programme the page is
    about, else the programmes' own (see ``default_timezone``). An e-mail being written
    (``force_timezone``) is in its recipient's zone, whoever is looking."""
    if g and g.get("forced_timezone"):
        return g.forced_timezone
    if has_request_context() and current_user and current_user.is_authenticated \
            and current_user.timezone:
        return current_user.timezone
    return default_timezone()


@contextmanager
def force_timezone(zone: str) -> Iterator[None]:
    """Within this block every time is written in ``zone`` (an e-mail to its recipient)."""
    if not g:
        yield
        return
    babel_ctx = g.setdefault("_flask_babel", SimpleNamespace())
    before = (g.get("forced_timezone"), getattr(babel_ctx, "babel_tzinfo", None))
    g.forced_timezone = zone
    babel_ctx.babel_tzinfo = None  # flask-babel asks select_timezone again
    try:
        yield
    finally:
        g.forced_timezone, babel_ctx.babel_tzinfo = before


def use_timezone(zone: str | None) -> None:
    """Show this page in ``zone`` to a visitor nobody knows (a call page: the call's zone)."""
    if zone and has_request_context():
        g.page_timezone = zone


def default_timezone() -> str:
    """The zone for someone we do not know: the one the page named (``use_timezone``), else
    the programmes' zone when they all work in one, else the ``PROGRAMME_TIMEZONE`` setting."""
    if has_request_context():
        if g.get("page_timezone"):
            return g.page_timezone
        if g.get("programmes_timezone"):
            return g.programmes_timezone
    from sqlalchemy import select

    from webapp.db import db
    from webapp.models import Programme

    zones = db.session.scalars(select(Programme.timezone).distinct().limit(2)).all()
    zone = zones[0] if len(zones) == 1 and valid_timezone(zones[0]) \
        else current_app.config["PROGRAMME_TIMEZONE"]
    if has_request_context():
        g.programmes_timezone = zone
    return zone


def zone_name(local: datetime) -> str:
    """The name of the zone of an aware time, as people read it: "CET", "UTC-03" (zones
    without an abbreviation of their own report an offset)."""
    name = local.tzname() or ""
    if not name:
        return str(getattr(local.tzinfo, "key", "UTC"))
    return f"UTC{name}" if name[0] in "+-" else name


def in_zone(dt: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """A UTC time shown in ``tz`` (or the viewer's zone), with the zone's name."""
    if dt is None:
        return ""
    if tz is None and has_request_context():
        zone, locale = _page_zone()
        local = dt.astimezone(zone)
        return (f"{dates.format_datetime(local.replace(tzinfo=None), fmt, locale=locale)} "
                f"({zone_name(local)})")
    zone = ZoneInfo(tz or select_timezone())
    local = dt.astimezone(zone)
    return f"{format_datetime(local.replace(tzinfo=None), fmt, rebase=False)} ({zone_name(local)})"


def _page_zone() -> tuple[ZoneInfo, Any]:
    """The viewer's zone and locale, looked up once per page (a list shows dozens of times),
    again only when what they follow changes (an e-mail written in its recipient's zone and
    language, a page naming its zone)."""
    key = (g.get("forced_timezone"), g.get("page_timezone"), get_locale())
    found = g.get("_page_zone")
    if found is None or found[0] != key:
        found = (key, ZoneInfo(select_timezone()))
        g._page_zone = found
    return found[1], key[2]


# -- the zones people choose from --------------------------------------------------------------

#: the zone for people who want none of the places: offered after every area's zones
UTC_ZONE = "UTC"


@cache
def _zone_table() -> tuple[tuple[str, str], ...]:
    """(country code, zone) rows of the tz database's ``zone.tab``: its canonical Area/City
    zones, most populous first within a country."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone, *_comment = line.split("\t")
            rows.append((code, zone))
    return tuple(rows)


@cache
def timezone_names() -> tuple[str, ...]:
    """Every zone people may choose: the canonical Area/City zones, and UTC."""
    return (*sorted({zone for _code, zone in _zone_table()}), UTC_ZONE)


def valid_timezone(name: str | None) -> bool:
    """Whether ``name`` is a zone this installation can show times in."""
    if not name:
        return False
    return name in timezone_names() or name in _available()


@cache
def _available() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def utc_offset(zone: str, now: datetime) -> str:
    """The zone's offset from UTC at ``now``: "UTC+01:00", "UTC−03:00", "UTC"."""
    offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "\u2212"  # a minus sign, as screen readers say it
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def timezone_choices(now: datetime, current: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The zones grouped by area ("Africa", "America" ...), each "City (UTC+01:00)" with its
    offset at ``now``; a person's current zone stays offered even if it is an old alias."""
    names = list(timezone_names())
    if current and current not in names and valid_timezone(current):
        names.append(current)
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in sorted(names):
        area, _, place = zone.partition("/")
        label = (place or area).replace("_", " ").replace("/", " / ")
        groups.setdefault(area if place else UTC_ZONE, []).append(
            (zone, f"{label} ({utc_offset(zone, now)})"))
    return {area: groups[area] for area in sorted(groups, key=lambda a: (a == UTC_ZONE, a))}


def guess_timezone(country: str | None, now: datetime) -> str | None:
    """The zone of a country, by ISO code (or a name ``countries.to_code`` reads), when all
    its zones keep one time now (Argentina: Buenos Aires); None for a country of several times
    (Brazil) or unknown."""
    code = countries.to_code(country)
    if code is None:
        return None
    zones = [zone for c, zone in _zone_table() if c == code]
    offsets = {now.astimezone(ZoneInfo(zone)).utcoffset() for zone in zones}
    return zones[0] if zones and len(offsets) == 1 else None


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


def names_list(names: Iterable[str], locale: str | None = None) -> str:
    """Names joined as the reader's language lists them: "Rosario and Medellín"."""
    items = [str(n) for n in names]
    return format_list(items, locale=locale or reader_locale()) if items else ""


def region_name(name: str | None) -> str:
    """A world region in the reader's language; a stored region not among the programme's
    world regions is shown as it is."""
    from webapp.models.programme import WORLD_REGIONS

    return gettext(name) if name in WORLD_REGIONS else (name or "")


def region_names(names: Iterable[str] | None) -> str:
    """World regions in the reader's language, comma-separated, in their stored order."""
    return ", ".join(region_name(n) for n in names or ())


def is_eu27(codes: Iterable[str] | None) -> bool:
    """Whether ``codes`` are exactly the 27 EU member states."""
    return set(codes or ()) == set(countries.EU_MEMBER_STATES)


#: the labels people read in the programme's definitions, which stay free of Flask: for each
#: constructor (where it is defined), the names of its label arguments. Pages translate them on
#: show. A label given by position is found from the constructor's own signature.
LABEL_ARGUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "State": ("workflows.engine", ("staff_label", "applicant_label", "stage", "future_label")),
    "Transition": ("workflows.engine", ("label",)),
    "Workflow": ("workflows.engine", ("title",)),
    "Field": ("workflows.engine", ("label", "hint")),
    "DeadlineSpec": ("workflows.engine", ("label",)),
    "Section": ("workflows.lap", ("title", "hint", "row_label")),
    "TextField": ("workflows.lap", ("label", "hint")),
    "Column": ("workflows.lap", ("label",)),
    "Commitment": ("workflows.vocabulary", ("label",)),
    "Criterion": ("workflows.vocabulary", ("label",)),
    "Vocabulary": ("workflows.vocabulary", (
        "applicant_noun", "applicant_description", "applicant_hint", "partner_noun",
        "partner_title", "plan_name", "plan_title", "agreement_name", "call_name")),
    "proposal_state": ("workflows.city_to_city", ("applicant_label",)),
    "signing_state": ("workflows.city_to_city", ("sign_label", "future_label")),
    "replace": ("dataclasses", ("label",)),  # a shared transition relabelled for another kind
}
#: module-level tables whose values are labels
LABEL_TABLES = frozenset({"ORGANISATION_TYPES", "TITLES", "SECTORS", "ROADMAP_SECTORS",
                          "FRAMEWORKS", "ACTIVITY_TYPES", "DIRECTIONS"})


def _label_positions(name: str) -> tuple[int, ...]:
    """Where a constructor takes its label arguments by position (none when keyword-only)."""
    module, names = LABEL_ARGUMENTS[name]
    params = list(inspect.signature(getattr(importlib.import_module(module), name))
                  .parameters.values())
    return tuple(i for i, p in enumerate(params)
                 if p.name in names and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


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
                names = LABEL_ARGUMENTS[name][1]
                values = [node.args[i] for i in _label_positions(name) if i < len(node.args)]
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


def say_refusal(reason: Refusal) -> str:
    """A refusal in the reader's language, its times in the reader's zone; English outside
    an application (a worker's log, the command line)."""
    if not has_app_context():
        return reason.english
    return render(reason, gettext, programme_time, number=format_decimal, lists=said_list,
                  country=country_name)


def said_list(items: list[str]) -> str:
    """Items as a sentence in the reader's language lists them ("A, B et C")."""
    locale = reader_locale()
    if locale.startswith("en"):
        return english_listing(items)  # "A, B and C", as the programme writes
    return format_list(items, locale=locale)


def verdict_sentence(result: Any) -> str:
    """An eligibility verdict's sentence in the reader's language: a rule's result as the
    rules give it, or as recorded (a verdict recorded before message ids were kept is
    shown in the English it was said in)."""
    reason = getattr(result, "reason", None)
    if isinstance(reason, Refusal):
        return str(reason)
    if isinstance(reason, dict) and reason.get("msgid"):
        return str(from_data(reason))
    return result.message


def programme_time(dt: datetime) -> str:
    """A time as the programme states its deadlines: Brussels time, in the reader's words."""
    local = dt.astimezone(PROGRAMME_TZ).replace(tzinfo=None)
    return gettext("%(time)s Brussels time") % {
        "time": format_datetime(local, "dd MMMM yyyy, HH:mm", rebase=False)}


def init_app(app: Flask) -> None:
    # Guards and the engine give refusals as message ids; they are said where they are shown.
    speak_with(say_refusal)
    app.jinja_env.filters["when"] = in_zone
    app.jinja_env.filters["number"] = format_decimal  # 100,000 / 100 000 / 100.000
    # Translated names start a sentence or a heading: "plan d’action local" -> "Plan ..."
    app.jinja_env.filters["capfirst"] = lambda text: text[:1].upper() + text[1:]
    app.jinja_env.filters["country_name"] = country_name
    app.jinja_env.filters["country_names"] = country_names
    app.jinja_env.filters["names_list"] = names_list
    app.jinja_env.filters["verdict_sentence"] = verdict_sentence
    app.jinja_env.filters["region_name"] = region_name
    app.jinja_env.filters["region_names"] = region_names
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
