"""Pairing: the partner cities registry, suggestions for a case, the call-wide draft board and
the partner contact's invitation (SPEC §6).

The scoring itself is pure (``workflows.pairing``); this module loads the call's profiles,
decides which partner cities are free and allowed for a case, and writes through
``webapp.operations.cases`` so every proposal is an ordinary transition.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from webapp.access import can_view_case, visible_cases
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, OperationError, Refused
from webapp.forms import has_control_characters, one_line
from webapp.i18n import guess_timezone
from webapp.mail import outbox
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    PartnerCity,
    StatementEmbedding,
    Topic,
    User,
    UserRole,
)
from webapp.models.organisation import PARTNER_KINDS
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import audit, vocabulary
from webapp.operations import cases as case_ops
from webapp.operations.accounts import find_user, make_token
from workflows import get_workflow, workflows
from workflows import vocabulary as call_vocabulary
from workflows.countries import COUNTRY_CODES, country_name, normalise_country, to_code
from workflows.embeddings import MODEL_ID, Embeddings
from workflows.engine import Purpose, Workflow
from workflows.language import guess_language
from workflows.pairing import Assignment, Profile, Scorer, Suggestion, optimum, suggest
from workflows.topics import map_text_to_topics

#: the transitions that propose a partner, add one more, or take one out, asked of each case's
#: definition by their purpose
PROPOSE = Purpose.PROPOSE_PARTNER
ADD_PARTNER = Purpose.ADD_PARTNER
REMOVE_PARTNER = Purpose.REMOVE_PARTNER
IMPORT_COLUMNS = ("name", "country", "region", "population", "topics", "challenge_statement",
                  "contact_name", "contact_email")
#: columns a file may add: kind (city or region; empty: city)
OPTIONAL_COLUMNS = ("kind",)
MAX_TOPICS = 5
MAX_IMPORT_ROWS = 5000
_POPULATION = re.compile(r"^\d+$|^\d{1,3}(?:([ ,.'_])\d{3})(?:\1\d{3})*$")
STATEMENTS_IN_MEMORY = 20_000  # statements whose vectors a process keeps (about 10 KB each)


# -- statement embeddings ----------------------------------------------------------------------

class StoredVectors:
    """The ``statement_embedding`` table as the scorer's store of statement vectors."""

    def load(self, keys: Collection[str]) -> dict[str, bytes]:
        """The stored vectors of ``keys``, read in the request's session."""
        found: dict[str, bytes] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            found.update((key, vectors) for key, vectors in db.session.execute(
                select(StatementEmbedding.key, StatementEmbedding.vectors)
                .where(StatementEmbedding.key.in_(wanted[start:start + 500]))))
        return found

    def save(self, vectors: Mapping[str, bytes]) -> None:
        """Keep new vectors in a transaction of their own, so reading a page that embeds a new
        statement never commits the page's own work; a key someone else just stored is kept."""
        if not vectors:
            return
        insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        now = utcnow()
        rows = [{"key": k, "model": MODEL_ID, "vectors": v, "created_at": now}
                for k, v in vectors.items()]
        with Session(db.engine) as session, session.begin():
            session.execute(insert(StatementEmbedding).on_conflict_do_nothing(), rows)


_EMBEDDINGS = Embeddings(store=StoredVectors(), memory=STATEMENTS_IN_MEMORY)


def statement_embeddings() -> Embeddings:
    """The process's statement vectors: in memory, else in the database, else embedded."""
    return _EMBEDDINGS


# -- the partner cities registry -------------------------------------------------------------

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


# -- profiles, the pool of a call, and who may be proposed -----------------------------------

def case_profile(case: Case) -> Profile:
    """A case as the scorer sees it: its priority topics and its challenge statement."""
    return Profile(case.id, case.reference, frozenset(t.slug for t in case.topics),
                   case.challenge_statement or "", case.partner_region or "",
                   case.organisation.country if case.organisation else "")


def partner_profile(pc: PartnerCity) -> Profile:
    """A partner city as the scorer sees it."""
    return Profile(pc.id, pc.name, frozenset(t.slug for t in pc.topics),
                   pc.challenge_statement or "", pc.region, pc.country)


def proposing_states(wf: Workflow) -> list[str]:
    """The states from which a partner city may be proposed, read from the definition."""
    return wf.sources_of(PROPOSE)


def allowed_regions(case: Case, user: User | None = None) -> tuple[str, ...]:
    """The world regions a case's partner may come from: the preferred one when the call
    offers it, else every region the call offers; a scoped coordinator's region only."""
    offered = tuple(case.call.partner_regions or WORLD_REGIONS)
    regions = (case.partner_region,) if case.partner_region in offered else offered
    if user is not None and user.region_scope:
        regions = tuple(r for r in regions if r == user.region_scope)
    return regions


@dataclass
class Pool:
    """A call's profiles and the scorer fitted on them, with which partner cities are busy."""

    call: Call
    cases: dict[int, Case]
    partners: dict[int, PartnerCity]
    busy: dict[int, set[int]]  # partner city id -> the cases it is set on
    scorer: Scorer
    profiles: dict[int, Profile]  # case id -> profile
    partner_profiles: dict[int, Profile]  # partner city id -> profile

    def free(self, but_for: int | None = None) -> list[PartnerCity]:
        """Partner cities not in an active pairing of this call (``but_for`` a case's own)."""
        return sorted((p for p in self.partners.values()
                       if not self.busy.get(p.id, set()) - {but_for}), key=lambda p: p.name)


def load_pool(session: Session, call: Call) -> Pool:
    """Every case and offered partner of ``call`` in a constant number of queries: partners of
    the kind the call pairs with (cities or regions), in the regions and countries it offers."""
    cases = {c.id: c for c in session.scalars(
        select(Case).where(Case.call_id == call.id)
        .options(selectinload(Case.topics), selectinload(Case.organisation),
                 selectinload(Case.partner_links)))}
    q = select(PartnerCity).options(selectinload(PartnerCity.topics)).where(
        PartnerCity.kind == call_vocabulary(call.kind).partner_kind)
    if call.partner_regions:
        q = q.where(PartnerCity.region.in_(list(call.partner_regions)))
    if call.partner_countries:
        q = q.where(PartnerCity.country.in_(list(call.partner_countries)))
    partners = {p.id: p for p in session.scalars(q)}
    # The same rule as the proposal guard: a partner city set on another case of the call.
    busy: dict[int, set[int]] = {}
    released = set(case_ops.released_states(call.kind))
    for c in cases.values():
        if c.state not in released:
            for link in c.partner_links:
                busy.setdefault(link.partner_city_id, set()).add(c.id)
    profiles = {c.id: case_profile(c) for c in cases.values()}
    partner_profiles = {p.id: partner_profile(p) for p in partners.values()}
    scorer = Scorer([*profiles.values(), *partner_profiles.values()],
                    embeddings=statement_embeddings())
    return Pool(call, cases, partners, busy, scorer, profiles, partner_profiles)


def earlier_proposals(session: Session, case_ids: Collection[int]) -> set[tuple[int, int]]:
    """(case, partner city) pairs proposed before; a case back in the pool saw them fail."""
    if not case_ids:
        return set()
    pairs: set[tuple[int, int]] = set()
    for case_id, payload in session.execute(select(AuditEvent.case_id, AuditEvent.payload).where(
            AuditEvent.case_id.in_(list(case_ids)),
            AuditEvent.action.in_(sorted({wf.name_for(p) for wf in workflows().values()
                                          for p in (PROPOSE, ADD_PARTNER)
                                          if wf.for_purpose(p) is not None})))):
        partner_id = (payload or {}).get("partner_city_id")
        if str(partner_id or "").isdigit() and case_id is not None:
            pairs.add((case_id, int(partner_id)))
    return pairs


def region_problem(case: Case, partner: PartnerCity, user: User | None) -> str | None:
    """Why ``partner`` is outside the regions ``case`` may be paired in, or None."""
    regions = allowed_regions(case, user)
    if partner.region in regions:
        return None
    return (f"{partner.name} is in {partner.region}; {case.reference} may be paired in "
            f"{', '.join(regions) or 'none of your regions'}.")


def proposing_transition(case: Case) -> Purpose:
    """What proposing a partner fires on ``case`` now: the first proposal, or one more partner
    for a pairing already proposed."""
    if get_workflow(case.workflow).offers(case.state, ADD_PARTNER):
        return ADD_PARTNER
    return PROPOSE


def proposal_blocker(case: Case, user: User) -> str | None:
    """Why ``user`` cannot propose a partner for ``case`` now, or None when they can."""
    wf = get_workflow(case.workflow)
    t = wf.for_purpose(PROPOSE)
    if t is None:
        return "Cases of this call are not paired with partner cities."
    if proposing_transition(case) == ADD_PARTNER:
        return None if case_ops.actor(user).role in wf.for_purpose(ADD_PARTNER).roles else (
            "Your role does not allow proposing a partner.")
    if case_ops.actor(user).role not in t.roles:
        return "Your role does not allow proposing a partner."
    if case.state not in t.sources:
        waiting = " or ".join(wf.state(s).staff_label.lower() for s in t.sources)
        return (f"This case is {wf.state(case.state).staff_label.lower()}; a partner city can "
                f"be proposed only while it is {waiting}.")
    return None


# -- suggestions for one case -----------------------------------------------------------------

@dataclass(frozen=True)
class MatchedSentences:
    """A sentence of the case's statement and one of the partner's that say much the same,
    each as written and with its language when it can be told (for the page's lang)."""

    mine: str
    mine_lang: str | None
    theirs: str
    theirs_lang: str | None
    percent: int


@dataclass(frozen=True)
class Reasons:
    """A suggestion as a page shows it: the partner, the score and why."""

    partner: PartnerCity
    score: float
    percent: int
    shared_topics: tuple[tuple[str, str], ...]  # (slug, label), rarest first
    matched_terms: tuple[str, ...]
    topic_score: float
    text_score: float
    ruled_out: bool = False  # proposed to this case before, or ruled out on the board
    semantic_score: float = 0.0
    matched_sentences: tuple[MatchedSentences, ...] = ()


def _language(sentence: str) -> str | None:
    lang = guess_language(sentence)
    return lang if lang != "en" else None  # the pages are in English already


def _reasons(s: Suggestion, partner: PartnerCity, ruled_out: bool = False) -> Reasons:
    labels = vocabulary.labels(db.session)
    sentences = tuple(
        MatchedSentences(p.mine, _language(p.mine), p.theirs, _language(p.theirs),
                         round(p.similarity * 100))
        for p in s.matched_sentences)
    return Reasons(partner=partner, score=s.score, percent=round(s.score * 100),
                   shared_topics=tuple((t, labels.get(t, t)) for t in s.shared_topics),
                   matched_terms=s.matched_terms, topic_score=s.topic_score,
                   text_score=s.text_score, ruled_out=ruled_out,
                   semantic_score=s.semantic_score, matched_sentences=sentences)


@dataclass
class CaseSuggestions:
    """What the suggestions page of one case shows."""

    case: Case
    regions: tuple[str, ...]
    blocker: str | None
    suggestions: list[Reasons] = field(default_factory=list)
    free_count: int = 0
    #: the proposed or paired partners, the lead first, each with its reasons
    partners: list[Reasons] = field(default_factory=list)
    #: what proposing fires now: the first proposal, or adding one more partner
    action: str = PROPOSE

    @property
    def current(self) -> Reasons | None:
        """The lead partner, with its reasons."""
        return self.partners[0] if self.partners else None


def suggestions_for(case_id: int, user: User, limit: int = 10) -> CaseSuggestions:
    """The best free partner cities for a case, in the regions it may be paired with."""
    session = db.session()
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("There is no such case.")
    if not user.is_staff or not can_view_case(user, case):
        raise Forbidden("This case is not yours to pair.")
    pool = load_pool(session, case.call)
    regions = allowed_regions(case, user)
    mine = {link.partner_city_id for link in case.partner_links}
    free = [p for p in pool.free(but_for=case.id) if p.region in regions and p.id not in mine]
    before = {p for _, p in earlier_proposals(session, [case.id])} - mine
    result = CaseSuggestions(case=case, regions=regions, blocker=proposal_blocker(case, user),
                             free_count=len(free), action=proposing_transition(case))
    me = pool.profiles[case.id]
    if result.blocker is None:
        found = suggest(me, [pool.partner_profiles[p.id] for p in free], pool.scorer,
                        limit=limit, regions=regions)
        result.suggestions = [_reasons(s, pool.partners[s.partner.key], s.partner.key in before)
                              for s in found]
    for partner_city in case.partners:
        partner = pool.partner_profiles.get(partner_city.id) or partner_profile(partner_city)
        result.partners.append(_reasons(pool.scorer.explain(me, partner), partner_city))
    return result


def propose(case_id: int, user: User, partner_city_id: int, *, expected_version: int | None,
            source_address: str = "") -> case_ops.Fired:
    """Propose one partner city for one case, kept to the regions the case may be paired in:
    the first proposal (``propose_pairing``), or one more partner for a pairing already
    proposed (``add_partner``)."""
    case = db.session.get(Case, case_id)
    partner = db.session.get(PartnerCity, partner_city_id)
    transition = PROPOSE
    if case is not None and can_view_case(user, case):
        transition = proposing_transition(case)
        problem = partner is not None and region_problem(case, partner, user)
        if problem:
            raise Refused("This partner city cannot be proposed for this case.", (problem,))
    return case_ops.fire(case_id, transition, user, {"partner_city_id": partner_city_id},
                         expected_version=expected_version, source_address=source_address)


def remove_partner(case_id: int, user: User, partner_city_id: int, *,
                   expected_version: int | None, source_address: str = "") -> case_ops.Fired:
    """Take one partner out of a proposed pairing before it is accepted; removing the only
    one sends the case back to those awaiting pairing."""
    return case_ops.fire(case_id, REMOVE_PARTNER, user, {"partner_city_id": partner_city_id},
                         expected_version=expected_version, source_address=source_address)


# -- the call-wide draft board ------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One partner city offered in a row of the board."""

    partner: PartnerCity
    score: float
    ruled_out: bool = False  # by the coordinator, or proposed to this case before


@dataclass
class BoardRow:
    """One case of the board: the optimum's partner, the candidates, the reasons."""

    case: Case
    candidates: list[Candidate]
    optimum_id: int | None  # the partner city the call-wide optimum proposes, if any
    waiting: bool  # the case can still take a proposal
    #: further partners the optimum proposes, when the call gives a case more than one
    extra_ids: list[int] = field(default_factory=list)
    reasons: dict[int, Reasons] = field(default_factory=dict)  # partner city id -> reasons


@dataclass
class Board:
    """The draft board of a call: one row per case waiting for a partner."""

    call: Call
    rows: list[BoardRow]
    free_count: int
    ruled_out: set[tuple[int, int]]
    total: float  # the optimum's total score


def _waiting_cases(session: Session, call: Call, user: User) -> list[Case]:
    states = proposing_states(get_workflow(call.kind))
    q = visible_cases(user).where(Case.call_id == call.id, Case.state.in_(states))
    return list(session.scalars(q.order_by(Case.reference)))


def board_for(call_id: int, user: User, *, ruled_out: Collection[tuple[int, int]] = (),
              case_ids: Collection[int] | None = None,
              chosen: Mapping[int, int | None] | None = None) -> Board:
    """The call-wide optimum as a draft board.

    Rows are the cases waiting for a partner that ``user`` may see (or the ``case_ids`` a
    submitted board named, so a case that changed meanwhile keeps its row); ``chosen`` adds
    the reasons of a coordinator's own choices. Pairs in ``ruled_out``, pairs proposed to a
    case before and partner cities outside a case's allowed regions are never the optimum.
    """
    session = db.session()
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("There is no such call.")
    if not user.is_staff:
        raise Forbidden("Only the programme team pairs cases.")
    pool = load_pool(session, call)
    wf = get_workflow(call.kind)
    waiting_states = set(proposing_states(wf))
    if case_ids is None:
        rows_cases = [pool.cases[c.id] for c in _waiting_cases(session, call, user)]
    else:
        rows_cases = [pool.cases[i] for i in case_ids if i in pool.cases]
        if any(not can_view_case(user, c) for c in rows_cases):
            raise Forbidden("This board names a case that is not yours to pair.")
    waiting = [c for c in rows_cases if c.state in waiting_states]
    free = pool.free()
    forbidden = set(ruled_out) | earlier_proposals(session, [c.id for c in waiting])
    case_profiles = [pool.profiles[c.id] for c in waiting]
    partner_profiles = [pool.partner_profiles[p.id] for p in free]
    regions_of = {c.id: allowed_regions(c, user) for c in waiting}
    pairs = optimum(case_profiles, partner_profiles, pool.scorer, forbidden=forbidden,
                    regions_of=regions_of, max_per_case=call.max_partners_per_case)
    best: dict[int, Assignment] = {}
    extras: dict[int, list[int]] = {}
    for a in pairs:  # a case's best partner comes first: the lead
        if a.case.key in best:
            extras.setdefault(a.case.key, []).append(a.partner.key)
        else:
            best[a.case.key] = a
    scores = pool.scorer.matrix(case_profiles, partner_profiles) if waiting and free else None
    row_of = {c.id: i for i, c in enumerate(waiting)}
    rows: list[BoardRow] = []
    for case in rows_cases:
        candidates: list[Candidate] = []
        if scores is not None and case.id in row_of:
            i = row_of[case.id]
            # Every free partner the case may be paired with, the best first in each region:
            # a coordinator may choose one the scorer sees nothing in common with.
            allowed = [j for j, p in enumerate(free) if p.region in regions_of[case.id]]
            allowed.sort(key=lambda j: (free[j].region, -round(float(scores[i, j]), 12),
                                        free[j].name))
            candidates = [Candidate(free[j], float(scores[i, j]),
                                    (case.id, free[j].id) in forbidden) for j in allowed]
        optimum_pair = best.get(case.id)
        if optimum_pair is not None and all(c.partner.id != optimum_pair.partner.key
                                            for c in candidates):
            candidates.append(Candidate(pool.partners[optimum_pair.partner.key],
                                        optimum_pair.suggestion.score))
        row = BoardRow(case=case, candidates=candidates, waiting=case.id in row_of,
                       optimum_id=optimum_pair.partner.key if optimum_pair else None,
                       extra_ids=extras.get(case.id, []))
        wanted = {row.optimum_id, *row.extra_ids, (chosen or {}).get(case.id)} - {None}
        for partner_id in wanted:
            partner = pool.partners.get(partner_id) or session.get(PartnerCity, partner_id)
            if partner is None:
                continue
            if all(c.partner.id != partner_id for c in candidates):
                # A coordinator's choice outside the shortlist stays on the board as chosen.
                candidates.append(Candidate(partner, pool.scorer.score(
                    pool.profiles[case.id], partner_profile(partner)).score,
                    (case.id, partner_id) in forbidden))
            row.reasons[partner_id] = _reasons(
                pool.scorer.explain(pool.profiles[case.id], pool.partner_profiles.get(
                    partner_id) or partner_profile(partner)), partner,
                (case.id, partner_id) in forbidden)
        rows.append(row)
    return Board(call=call, rows=rows, free_count=len(free), ruled_out=set(ruled_out),
                 total=sum(a.suggestion.score for a in pairs))


class BoardRefused(Refused):
    """At least one proposal of a board was refused; nothing was written.

    ``errors`` maps a case id to the reasons its row shows.
    """

    def __init__(self, errors: dict[int, list[str]]):
        count = len(errors)
        super().__init__(f"No proposal was made: {count} row{'s' if count != 1 else ''} "
                         f"need{'s' if count == 1 else ''} another look.",
                         tuple(r for rs in errors.values() for r in rs))
        self.errors = errors


@dataclass(frozen=True)
class BoardChoice:
    """A coordinator's choice for one row of the board."""

    case_id: int
    partner_city_id: int
    version: int | None


def propose_board(call_id: int, user: User, choices: Iterable[BoardChoice], *,
                  source_address: str = "", now: datetime | None = None) -> int:
    """Create every proposal of a board in one transaction, or none; the count made.

    A case may be named more than once: its first choice is the proposal, the others join
    it as further partners. A partner chosen twice, a case that changed since the board was
    drawn (its version) or any refusal of the engine aborts everything with the reasons for
    each row.
    """
    now = now or utcnow()
    choices = list(choices)
    if not user.is_staff:
        raise Forbidden("Only the programme team pairs cases.")
    if not choices:
        raise Refused("Choose a partner city for at least one case.")
    errors: dict[int, list[str]] = {}
    twice = {p for p, n in Counter(c.partner_city_id for c in choices).items() if n > 1}
    proposed: set[int] = set()
    try:
        with db.transaction() as session:
            loaded = {c.id: c for c in session.scalars(
                select(Case).where(Case.id.in_([c.case_id for c in choices])))}
            partners = {p.id: p for p in session.scalars(select(PartnerCity).where(
                PartnerCity.id.in_([c.partner_city_id for c in choices])))}
            for choice in choices:
                case = loaded.get(choice.case_id)
                if case is None or case.call_id != call_id:
                    raise NotFound("The board names a case that is not in this call.")
                if not can_view_case(user, case):
                    raise Forbidden(f"{case.reference} is not yours to pair.")
                if choice.partner_city_id in twice:
                    others = [loaded[c.case_id].reference for c in choices
                              if c.partner_city_id == choice.partner_city_id
                              and c.case_id != case.id and c.case_id in loaded]
                    errors.setdefault(case.id, []).append(
                        f"{_name(partners, choice.partner_city_id)} is also "
                        f"chosen for {', '.join(others) or case.reference}; a partner city "
                        "takes one case.")
                    continue
                further = case.id in proposed
                proposed.add(case.id)
                if not further and choice.version is not None and case.version != choice.version:
                    state = get_workflow(case.workflow).state(case.state).staff_label.lower()
                    errors.setdefault(case.id, []).append(
                        f"{case.reference} changed since the board was drawn (it is now "
                        f"{state}); check it and choose again.")
                    continue
                partner = partners.get(choice.partner_city_id)
                problem = partner and region_problem(case, partner, user)
                if problem:
                    errors.setdefault(case.id, []).append(problem)
                    continue
                try:
                    case_ops.apply(session, case, ADD_PARTNER if further else PROPOSE, user,
                                   {"partner_city_id": choice.partner_city_id},
                                   source_address=source_address, now=now)
                except Refused as exc:
                    errors.setdefault(case.id, []).extend(exc.reasons or (exc.message,))
            if errors:
                raise BoardRefused(errors)
            session.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed one of these cases at the same moment. "
                       "Nothing was proposed; please look at the board again.") from exc
    return len(choices)


def _name(partners: Mapping[int, PartnerCity], partner_id: int) -> str:
    partner = partners.get(partner_id)
    return partner.name if partner else "This partner city"


# -- the partner contact's invitation -----------------------------------------------------------

@dataclass(frozen=True)
class Contact:
    """A partner city's contact as the pairing page shows it."""

    name: str
    email: str
    role: str
    account: User | None  # the person's account, when they have one


def contacts_of(partner: PartnerCity) -> list[Contact]:
    """The partner city's listed contacts, each with the account its e-mail already has, then
    the partner contact accounts of the city that no listed contact names."""
    emails = [str(c.get("email") or "").strip().lower() for c in partner.contacts or []]
    accounts = {u.email: u for u in db.session.scalars(select(User).where(or_(
        User.email.in_([e for e in emails if e]),
        (User.partner_city_id == partner.id) & (User.role == UserRole.PARTNER))))}
    listed = [Contact(str(c.get("name") or ""), e, str(c.get("role") or ""), accounts.get(e))
              for c, e in zip(partner.contacts or [], emails, strict=True)]
    unlisted = [Contact(u.name, u.email, "", u) for u in sorted(
        accounts.values(), key=lambda u: u.id)
        if u.email not in emails and u.partner_city_id == partner.id and u.is_active]
    return listed + unlisted


def invite_partner_contact(case_id: int, user: User, email: str) -> User:
    """Give a partner city's contact a partner account for a proposed pairing.

    The contact gets an invitation with a link to set a password (the reset link), and then
    sees the case in their portal, where they accept or decline the pairing.
    """
    email = email.strip().lower()
    now = utcnow()
    with db.transaction() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("There is no such case.")
        if not user.is_staff or not can_view_case(user, case):
            raise Forbidden("This case is not yours to manage.")
        if not case.partners:
            raise OperationError("Propose a partner city first.")
        # The contact speaks for the partner that lists it, whichever of the case's it is.
        found = next(((p, c) for p in case.partners for c in contacts_of(p)
                      if c.email == email and email), None)
        if found is None:
            names = " or ".join(p.name for p in case.partners)
            raise OperationError(f"{email or 'That address'} is not a contact of {names}.")
        partner, contact = found
        if find_user(email) is not None:
            raise OperationError(f"{email} already has an account.")
        # Their zone is guessed from the partner city's country until they choose their own.
        person = User(email=email, name=one_line(contact.name) or email.split("@")[0],
                      password_hash=None, role=UserRole.PARTNER, partner_city_id=partner.id,
                      timezone=guess_timezone(partner.country, now)
                      or case.call.programme.timezone, confirmed_at=now)
        session.add(person)
        session.flush()
        audit.record(session, "invite_partner_contact", user, case=case, at=now,
                     payload={"partner_city_id": partner.id, "email": email})
        outbox.queue(session, key=f"invite:{person.id}", template="invitation", user=person,
                     case=case, context={"token": make_token("invite", person),
                                         "inviter": user.display_name,
                                         "organisation": partner.name,
                                         "reference": case.reference})
        return person

