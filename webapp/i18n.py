"""Languages, time zones and the date formats people see."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    """The signed-in person's language, else the one they picked, else the browser's."""
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


def init_app(app: Flask) -> None:
    app.jinja_env.filters["when"] = in_zone
    app.jinja_env.globals["get_locale"] = lambda: str(get_locale())
