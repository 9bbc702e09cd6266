"""The partner cities registry."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.db import db
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.forms import has_control_characters
from webapp.models import (
    PartnerCity,
    Topic,
    User,
)
from webapp.models.organisation import PARTNER_KINDS
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import vocabulary
from webapp.operations.pairing.common import (
    _POPULATION,
    IMPORT_COLUMNS,
    MAX_IMPORT_ROWS,
    MAX_TOPICS,
    OPTIONAL_COLUMNS,
)
from webapp.operations.pairing.embeddings import (
    statement_embeddings,
)
from workflows.countries import COUNTRY_CODES, country_name, normalise_country, to_code
from workflows.topics import map_text_to_topics


@dataclass(frozen=True)
class PartnerCityData:
    """What a coordinator gives for one partner city, from the form or a CSV row."""

    name: str
    country: str
    region: str
    population: int | None = None
    #: city or region (PARTNER_KINDS)
    kind: str = "city"
    topics: tuple[str, ...] = ()
    challenge_statement: str = ""
    contacts: tuple[dict[str, str], ...] = ()


class ImportRefused(OperationError):
    """A CSV import with at least one bad row; ``reasons`` name every bad row."""


def _registry_user(user: User | None) -> None:
    if user is not None and not user.is_staff:
        raise Forbidden("Only the programme team manages partner cities.")


def _outside_scope(user: User | None, region: str) -> bool:
    return user is not None and bool(user.region_scope) and region != user.region_scope


def regions_for(user: User | None) -> tuple[str, ...]:
    """The world regions a person may register partner cities in."""
    if user is not None and user.region_scope:
        return (user.region_scope,)
    return WORLD_REGIONS


def partner_cities_query(user: User, *, search: str = "", region: str = "", country: str = ""):
    """The partner cities ``user`` may manage, filtered; a scoped coordinator sees their
    region's only."""
    q = select(PartnerCity)
    if user.region_scope:
        q = q.where(PartnerCity.region == user.region_scope)
    if region:
        q = q.where(PartnerCity.region == region)
    if country:
        q = q.where(PartnerCity.country == normalise_country(country))
    if search:
        like = f"%{search.strip().lower()}%"
        q = q.where(func.lower(PartnerCity.name).like(like)
                    | func.lower(PartnerCity.challenge_statement).like(like))
    return q


def partner_city_for(user: User, partner_city_id: int) -> PartnerCity:
    """One partner city ``user`` may manage; NotFound or Forbidden otherwise."""
    _registry_user(user)
    pc = db.session.get(PartnerCity, partner_city_id)
    if pc is None:
        raise NotFound("There is no such partner city.")
    if _outside_scope(user, pc.region):
        raise Forbidden(f"{pc.name} is outside your region.")
    return pc


def _topic_rows(session: Session, slugs: Iterable[str], keep: Iterable[Topic] = ()
                ) -> list[Topic]:
    wanted, refused = vocabulary.choose(session, slugs, keep)
    if refused:
        raise OperationError("These topics are not offered (unknown or retired): "
                             + ", ".join(refused))
    rows = {t.slug: t for t in session.scalars(select(Topic).where(Topic.slug.in_(wanted)))}
    return [rows[s] for s in wanted]


def _same_city(session: Session, name: str, country: str, other_than: int | None) -> bool:
    q = select(PartnerCity.id).where(func.lower(PartnerCity.name) == name.lower(),
                                     PartnerCity.country == country)
    if other_than is not None:
        q = q.where(PartnerCity.id != other_than)
    return session.scalar(q.limit(1)) is not None


def save_partner_city(user: User | None, data: PartnerCityData,
                      partner_city_id: int | None = None) -> PartnerCity:
    """Create a partner city, or change the one with ``partner_city_id``."""
    _registry_user(user)
    if data.region not in WORLD_REGIONS:
        raise OperationError(f"{data.region!r} is not a world region.")
    if data.kind not in PARTNER_KINDS:
        raise OperationError(f"{data.kind!r} is not a kind of partner: city or region.")
    if _outside_scope(user, data.region):
        raise Forbidden(f"{data.region} is outside your region.")
    if data.country not in COUNTRY_CODES:
        raise OperationError(f"{data.country!r} is not an ISO 3166-1 country code.")
    if not 1 <= len(data.topics) <= MAX_TOPICS:
        raise OperationError("Choose between one and five topics.")
    with db.transaction() as session:
        if _same_city(session, data.name, data.country, partner_city_id):
            raise OperationError(f"{data.name} ({country_name(data.country)}) is already "
                                 "registered.")
        if partner_city_id is None:
            pc = PartnerCity(name=data.name, country=data.country, region=data.region)
            session.add(pc)
        else:
            pc = session.get(PartnerCity, partner_city_id)
            if pc is None:
                raise NotFound("There is no such partner city.")
            if _outside_scope(user, pc.region):
                raise Forbidden(f"{pc.name} is outside your region.")
        pc.name, pc.country, pc.region = data.name, data.country, data.region
        pc.kind, pc.population = data.kind, data.population
        pc.challenge_statement = data.challenge_statement
        pc.contacts = [dict(c) for c in data.contacts]
        pc.topics = _topic_rows(session, data.topics, keep=pc.topics)
        session.flush()
    # Embedded once saved, so no suggestions page waits for it.
    statement_embeddings().keep([pc.challenge_statement])
    return pc


def topics_from_cell(cell: str, current: dict[str, str | None] | None = None
                     ) -> tuple[list[str], str | None]:
    """Vocabulary slugs from a CSV topics cell, and a problem for people (or None).

    A cell with ``;`` is a list of slugs and each must be offered (a merged topic's slug
    gives the topic it was merged into); a single slug is taken as it is; anything else is
    free text mapped onto the offered topics. ``current``: vocabulary.current_slugs, when
    the caller has read it already.
    """
    current = vocabulary.current_slugs(db.session) if current is None else current
    text = cell.strip()
    if not text:
        return [], "no topics given"
    if ";" in text:
        slugs = [s.strip().lower() for s in text.split(";") if s.strip()]
        for problem, wrong in (("not in the vocabulary", [s for s in slugs if s not in current]),
                               ("retired", [s for s in slugs if s in current and not current[s]])):
            if wrong:
                return [], "topic " + ", ".join(f"'{s}'" for s in wrong) + \
                    (" is " if len(wrong) == 1 else " are ") + problem
        return list(dict.fromkeys(str(current[s]) for s in slugs)), None
    if current.get(text.lower()):
        return [str(current[text.lower()])], None
    mapped = list(dict.fromkeys(str(current[s]) for s in map_text_to_topics(text)
                                if current.get(s)))
    if not mapped:
        return [], f"no topic of the vocabulary found in '{text}'"
    return mapped, None


def _population(cell: str) -> tuple[int | None, str | None]:
    text = cell.strip()
    if not text:
        return None, None
    if not _POPULATION.match(text):
        return None, f"population '{text}' is not a whole number"
    return int(re.sub(r"\D", "", text)), None


def _email(cell: str) -> tuple[str, str | None]:
    text = cell.strip()
    if not text:
        return "", None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower(), None
    except EmailNotValidError:
        return "", f"contact e-mail '{text}' is not an e-mail address"


def read_partner_csv(content: bytes | str, user: User | None = None) -> list[PartnerCityData]:
    """Every row of a partner cities CSV, checked; ImportRefused names each bad row.

    Rows are numbered as a spreadsheet shows them: the header is row 1.
    """
    _registry_user(user)
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRefused("The file is not a UTF-8 text file. Save it from your "
                                "spreadsheet as “CSV UTF-8” and try again.") from None
    if "\x00" in content:
        raise ImportRefused("The file is not a CSV text file.")
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise ImportRefused("The file does not have the columns it needs.",
                            ("Missing columns: " + ", ".join(missing)
                             + ". The first row must name the columns "
                             + ",".join(IMPORT_COLUMNS) + ".",))
    reader.fieldnames = header
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ImportRefused(f"The file could not be read as CSV: {exc}.") from None
    if not records:
        raise ImportRefused("The file has no partner cities below its header row.")
    if len(records) > MAX_IMPORT_ROWS:
        raise ImportRefused(f"The file has {len(records)} rows; import at most "
                            f"{MAX_IMPORT_ROWS} at a time.")
    existing = {(n.lower(), c) for n, c in db.session.execute(
        select(PartnerCity.name, PartnerCity.country))}
    current = vocabulary.current_slugs(db.session)
    regions = {r.lower(): r for r in WORLD_REGIONS}
    seen: dict[tuple[str, str], int] = {}
    rows: list[PartnerCityData] = []
    problems: list[str] = []
    for number, record in enumerate(records, start=2):
        cell = {k: (record.get(k) or "").strip() for k in (*IMPORT_COLUMNS, *OPTIONAL_COLUMNS)}
        errors: list[str] = []
        kind = cell["kind"].lower() or "city"
        if kind not in PARTNER_KINDS:
            errors.append(f"kind '{cell['kind']}' is not city or region")
        if not cell["name"]:
            errors.append("the name is empty")
        elif len(cell["name"]) > 300:
            errors.append("the name is longer than 300 characters")
        country = to_code(cell["country"])
        if not cell["country"]:
            errors.append("the country is empty")
        elif country is None:
            errors.append(f"country '{cell['country']}' is not a country: give its ISO code "
                          "(e.g. AR) or its name")
        region = regions.get(cell["region"].lower())
        if region is None:
            errors.append(f"region '{cell['region']}' is not a world region"
                          if cell["region"] else "the region is empty")
        elif _outside_scope(user, region):
            errors.append(f"{region} is outside your region")
        population, problem = _population(cell["population"])
        errors += [problem] if problem else []
        topics, problem = topics_from_cell(cell["topics"], current)
        errors += [problem] if problem else []
        if len(topics) > MAX_TOPICS:
            errors.append(f"{len(topics)} topics found ({', '.join(topics)}); "
                          f"give at most {MAX_TOPICS}")
        email, problem = _email(cell["contact_email"])
        errors += [problem] if problem else []
        if has_control_characters(cell["name"]) or has_control_characters(cell["contact_name"]):
            errors.append("a name holds a line break or another control character")
        key = (cell["name"].lower(), country or cell["country"])
        if cell["name"] and key in existing:
            errors.append(f"{cell['name']} ({cell['country']}) is already registered")
        elif cell["name"] and key in seen:
            errors.append(f"{cell['name']} ({cell['country']}) is also on row {seen[key]}")
        seen.setdefault(key, number)
        if errors:
            problems.append(f"Row {number}: " + "; ".join(errors) + ".")
            continue
        contact = {"name": cell["contact_name"], "email": email, "role": ""}
        rows.append(PartnerCityData(
            name=cell["name"], country=country or "", region=region or "",
            population=population, kind=kind, topics=tuple(topics),
            challenge_statement=cell["challenge_statement"],
            contacts=(contact,) if cell["contact_name"] or email else ()))
    if problems:
        raise ImportRefused(
            f"Nothing was imported: {len(problems)} of {len(records)} rows need correcting.",
            tuple(problems))
    return rows


def import_partner_cities(content: bytes | str, user: User | None = None) -> int:
    """Import every row of a partner cities CSV in one transaction, or none; the count."""
    rows = read_partner_csv(content, user)
    with db.transaction() as session:
        topics = {t.slug: t for t in session.scalars(select(Topic))}
        missing = sorted({s for r in rows for s in r.topics} - set(topics))
        if missing:
            raise ImportRefused("The topic vocabulary is not loaded: run citypair init-db.",
                                tuple(missing))
        for r in rows:
            session.add(PartnerCity(
                name=r.name, country=r.country, region=r.region, kind=r.kind,
                population=r.population,
                challenge_statement=r.challenge_statement, contacts=[dict(c) for c in r.contacts],
                topics=[topics[s] for s in r.topics]))
    return len(rows)


