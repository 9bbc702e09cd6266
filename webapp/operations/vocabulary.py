"""The topic vocabulary as admins keep it: add a topic, rename it per language, retire it,
bring it back, merge two topics; and what the rest of the app reads of it.

Topics are never deleted. A retired topic stays on the cases and partner cities that have it
and is no longer offered for new choices; a merged topic is retired and names the topic that
took its place, so an old slug (in a CSV import, a bookmarked filter, the 2017 table) still
finds the topic it stands for now.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from webapp.db import db, read_once, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.models import AuditEvent, Topic, User, UserRole, case_topic, partner_city_topic
from webapp.models.organisation import TOPIC_LANGUAGES, reader_language
from webapp.operations import audit, tallies
from workflows.topics import FAMILIES, normalize

#: the audit actions of the vocabulary, which its pages list as a topic's history
TOPIC_ACTIONS = ("add_topic", "rename_topic", "retire_topic", "reinstate_topic", "merge_topics")
MAX_LABEL = 200


def slug_for(label: str) -> str:
    """The code a new topic gets from its English label ("Night-time economy" ->
    "night-time-economy"): lower case, no accents, words joined by hyphens."""
    return "-".join(normalize(label).split())[:60].strip("-")


def _admin(user: User) -> None:
    if user.role != UserRole.ADMIN:
        raise Forbidden(_("Only an administrator can change the topic vocabulary."))


def _topic(session: Session, slug: str) -> Topic:
    topic = session.get(Topic, slug)
    if topic is None:
        raise NotFound(_("There is no such topic."))
    return topic


def _labels(labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The English label and the other languages' labels, checked; empty ones fall back."""
    english = (labels.get("en") or "").strip()
    if not english:
        raise OperationError(_("Give the topic an English label."))
    others = {lang: (labels.get(lang) or "").strip() for lang in TOPIC_LANGUAGES}
    if any(len(text) > MAX_LABEL for text in (english, *others.values())):
        raise OperationError(_("A label has at most %(n)d characters.", n=MAX_LABEL))
    return english, {lang: text for lang, text in others.items() if text}


def _all_labels(topic: Topic) -> dict[str, str]:
    return {"en": topic.label_en, **(topic.labels or {})}


def add_topic(admin: User, *, labels: Mapping[str, str], family: str,
              source_address: str = "") -> Topic:
    """Add a topic to the vocabulary; its code comes from the English label."""
    _admin(admin)
    english, others = _labels(labels)
    if family not in FAMILIES:
        raise OperationError(_("Choose whether the topic is a theme or a Sustainable "
                               "Development Goal."))
    slug = slug_for(english)
    if not slug:
        raise OperationError(_("The English label needs letters or digits."))
    with db.transaction() as session:
        existing = session.get(Topic, slug)
        if existing is not None:
            hint = (_(" It is retired: bring it back instead.") if existing.retired
                    and not existing.merged_into else "")
            raise OperationError(_("The topic “%(label)s” (%(slug)s) exists already.",
                                   label=existing.label_en, slug=slug) + hint)
        topic = Topic(slug=slug, label_en=english, labels=others, family=family)
        session.add(topic)
        audit.record(session, "add_topic", admin, source_address=source_address,
                     payload={"topic": slug,
                              "after": {"labels": _all_labels(topic), "family": family}})
        return topic


def rename_topic(admin: User, slug: str, labels: Mapping[str, str],
                 source_address: str = "") -> Topic:
    """Change a topic's labels; a language left empty shows the English label."""
    _admin(admin)
    english, others = _labels(labels)
    with db.transaction() as session:
        topic = _topic(session, slug)
        if topic.merged_into:
            raise OperationError(_("This topic was merged into another; rename that one "
                                   "instead."))
        before = _all_labels(topic)
        topic.label_en, topic.labels = english, others
        after = _all_labels(topic)
        if after != before:
            audit.record(session, "rename_topic", admin, source_address=source_address,
                         payload={"topic": slug, "before": {"labels": before},
                                  "after": {"labels": after}})
        return topic


def retire_topic(admin: User, slug: str, source_address: str = "") -> Topic:
    """Stop offering a topic; the cases and partner cities that have it keep it."""
    _admin(admin)
    with db.transaction() as session:
        topic = _topic(session, slug)
        if topic.retired:
            raise OperationError(_("This topic is already retired."))
        topic.retired_at = utcnow()
        audit.record(session, "retire_topic", admin, source_address=source_address,
                     payload={"topic": slug})
        return topic


def reinstate_topic(admin: User, slug: str, source_address: str = "") -> Topic:
    """Offer a retired topic again (a merged one stays merged)."""
    _admin(admin)
    with db.transaction() as session:
        topic = _topic(session, slug)
        if topic.merged_into:
            raise OperationError(_("A merged topic cannot come back: its cases and partner "
                                   "cities now have “%(slug)s”.", slug=topic.merged_into))
        if not topic.retired:
            raise OperationError(_("This topic is offered already."))
        topic.retired_at = None
        audit.record(session, "reinstate_topic", admin, source_address=source_address,
                     payload={"topic": slug})
        return topic


@dataclass(frozen=True)
class Merge:
    """What a merge moved."""

    merged: str
    survivor: str
    cases: int
    partner_cities: int


def _move(session: Session, table: Any, owner: str, merged: str, survivor: str) -> int:
    """Give every owner of ``merged`` the survivor instead (once); how many had it."""
    rows = table.c
    had = select(rows[owner]).where(rows.topic_slug == merged)
    count = session.scalar(select(func.count()).select_from(had.subquery())) or 0
    session.execute(insert(table).from_select(
        [owner, "topic_slug"],
        select(rows[owner], literal(survivor, rows.topic_slug.type))
        .where(rows.topic_slug == merged,
               rows[owner].not_in(select(rows[owner]).where(rows.topic_slug == survivor)))))
    session.execute(delete(table).where(rows.topic_slug == merged))
    return count


def merge_topics(admin: User, merged_slug: str, survivor_slug: str,
                 source_address: str = "") -> Merge:
    """Merge one topic into another in one transaction: every case and partner city of the
    merged topic gets the survivor instead, and the merged topic is retired, pointing to it."""
    _admin(admin)
    if merged_slug == survivor_slug:
        raise OperationError(_("Choose another topic to merge this one into."))
    with db.transaction() as session:
        merged, survivor = _topic(session, merged_slug), _topic(session, survivor_slug)
        if merged.merged_into:
            raise OperationError(_("This topic was merged already."))
        if survivor.retired:
            raise OperationError(_("“%(label)s” is retired: merge into a topic that is still "
                                   "offered.", label=survivor.label_en))
        # The paired cases' topic tallies move with them.
        tallies.touch(session, session.scalars(select(case_topic.c.case_id).where(
            case_topic.c.topic_slug == merged.slug)))
        cases = _move(session, case_topic, "case_id", merged.slug, survivor.slug)
        cities = _move(session, partner_city_topic, "partner_city_id", merged.slug,
                       survivor.slug)
        # Topics merged into this one earlier now point straight to the survivor.
        for earlier in session.scalars(select(Topic).where(Topic.merged_into == merged.slug)):
            earlier.merged_into = survivor.slug
        merged.retired_at = merged.retired_at or utcnow()
        merged.merged_into = survivor.slug
        audit.record(session, "merge_topics", admin, source_address=source_address,
                     payload={"topic": merged.slug, "survivor": survivor.slug, "cases": cases,
                              "partner_cities": cities})
    # Topic lists loaded before the merge are stale: they reload when next read.
    db.session.expire_all()
    return Merge(merged.slug, survivor.slug, cases, cities)


# -- what the rest of the app reads ---------------------------------------------------------

def _natural(label: str) -> tuple:
    # Numbers by their value, so the goals read SDG 1, SDG 2 … SDG 10, not SDG 1, SDG 10, SDG 2.
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", label.casefold()) if part)


def _ordered(topics: Iterable[Topic]) -> list[Topic]:
    # Themes first, then the goals, each by the reader's label.
    return sorted(topics, key=lambda t: (t.family != "theme", _natural(t.label)))


def offered(session: Session, keep: Iterable[Topic] = ()) -> list[Topic]:
    """The topics a form offers: those not retired, and the retired ones in ``keep`` (what
    the case or partner city being edited has already)."""
    kept = {t.slug: t for t in keep}
    found = {t.slug: t for t in session.scalars(select(Topic).where(Topic.retired_at.is_(None)))}
    return _ordered({**kept, **found}.values())


def labels(session: Session) -> dict[str, str]:
    """Slug -> label in the reader's language, for every topic (read once per request)."""
    language = reader_language()
    return read_once(session, ("topic labels", language), lambda: {
        t.slug: t.label_in(language) for t in session.scalars(select(Topic))})


def current_slugs(session: Session) -> dict[str, str | None]:
    """Every slug -> the topic a new choice of it gives now: an offered topic itself, a merged
    one its survivor, a retired one None (it is not offered)."""
    return {slug: merged_into or (slug if retired_at is None else None)
            for slug, retired_at, merged_into in session.execute(
                select(Topic.slug, Topic.retired_at, Topic.merged_into))}


def choose(session: Session, slugs: Iterable[str], keep: Iterable[Topic] = ()
           ) -> tuple[list[str], list[str]]:
    """The topics a new choice of ``slugs`` gives, and the slugs it cannot give (unknown or
    retired). A merged slug gives its survivor; a retired topic already had (``keep``) stays."""
    current = current_slugs(session)
    kept = {t.slug for t in keep}
    chosen: list[str] = []
    refused: list[str] = []
    for slug in slugs:
        found = current.get(slug) or (slug if slug in kept else None)
        if found is None:
            refused.append(slug)
        elif found not in chosen:
            chosen.append(found)
    return chosen, refused


def survivors(session: Session) -> dict[str, str]:
    """Slug -> the topic it stands for now, for every topic (merged ones give their
    survivor), to read old slugs such as the 2017 table's."""
    return {slug: merged_into or slug for slug, merged_into in session.execute(
        select(Topic.slug, Topic.merged_into))}


def vocabulary_page(session: Session) -> list[dict[str, Any]]:
    """Every topic with the number of cases and partner cities that have it."""
    per_case = dict(session.execute(select(case_topic.c.topic_slug, func.count())
                                    .group_by(case_topic.c.topic_slug)).all())
    per_city = dict(session.execute(select(partner_city_topic.c.topic_slug, func.count())
                                    .group_by(partner_city_topic.c.topic_slug)).all())
    return [{"topic": t, "cases": per_case.get(t.slug, 0), "partner_cities":
             per_city.get(t.slug, 0)}
            for t in _ordered(session.scalars(select(Topic)))]


def usage(session: Session, slug: str) -> tuple[int, int]:
    """How many cases and partner cities have this topic."""
    return tuple(session.scalar(select(func.count()).select_from(table).where(
        table.c.topic_slug == slug)) or 0 for table in (case_topic, partner_city_topic))


def history(session: Session, slug: str) -> list[AuditEvent]:
    """The vocabulary changes that name this topic (merges into it too), newest first."""
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.case_id.is_(None), AuditEvent.action.in_(TOPIC_ACTIONS),
        or_(AuditEvent.payload["topic"].as_string() == slug,
            AuditEvent.payload["survivor"].as_string() == slug))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))
