"""Loading reference data and the demo: the topic vocabulary, a programme, calls, partner
cities, sample applicants and cases at different stages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from importlib import resources

from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.models import Call, Organisation, PartnerCity, Programme, Topic, User, UserRole
from webapp.operations.accounts import hash_password
from workflows.pairing import read_pairings
from workflows.topics import map_text_to_topics, vocabulary

DEMO_PASSWORD = "citypair-demo"  # noqa: S105 — published on purpose: demo accounts only


def load_topics() -> int:
    """Insert the vocabulary's topics that are missing; returns how many were added."""
    with db.transaction() as session:
        have = set(session.scalars(select(Topic.slug)))
        new = [Topic(slug=t.slug, label=t.label, family=t.family) for t in vocabulary()
               if t.slug not in have]
        session.add_all(new)
        return len(new)


def history_file() -> str:
    return str(resources.files("workflows") / "data" / "iuc_2017_pairings.csv")


def load_partner_cities_from_history() -> int:
    """The partner cities of the 2017 pairings, their topics mapped onto the vocabulary."""
    with db.transaction() as session:
        have = set(session.scalars(select(PartnerCity.name)))
        topics = {t.slug: t for t in session.scalars(select(Topic))}
        added = 0
        for row in read_pairings(history_file()):
            if row["partner_city"] in have:
                continue
            have.add(row["partner_city"])
            session.add(PartnerCity(
                name=row["partner_city"], country=row["partner_country"],
                region=row["partner_region"], challenge_statement=row["topics"],
                topics=[topics[s] for s in map_text_to_topics(row["topics"]) if s in topics],
                contacts=[]))
            added += 1
        return added


def _user(session, email: str, name: str, role: str, **kw) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=hash_password(DEMO_PASSWORD),
                    confirmed_at=utcnow(), **kw)
        session.add(user)
    return user


def load_demo() -> Iterator[str]:
    """Load (or top up) the demo data; yields a line per thing done."""
    now = utcnow()
    yield f"topics added: {load_topics()}"
    yield f"partner cities added: {load_partner_cities_from_history()}"
    with db.transaction() as session:
        programme = session.scalar(select(Programme).where(Programme.slug == "iuc"))
        if programme is None:
            programme = Programme(slug="iuc", name="International Urban Cooperation",
                                  targets={"city_partnerships": 10, "regional_partnerships": 10})
            session.add(programme)
        call = session.scalar(select(Call).where(Call.slug == "city-to-city-demo"))
        if call is None:
            call = Call(
                programme=programme, slug="city-to-city-demo", kind="city-to-city",
                title="City-to-city cooperation on sustainable urban development",
                summary="EU cities of more than 100,000 inhabitants, or groups of "
                        "municipalities with a lead urban authority, apply to cooperate for 18 "
                        "months with a city in Asia, Latin America and the Caribbean or North "
                        "America that faces similar challenges.",
                partner_regions=["Asia", "Latin America and the Caribbean", "North America"],
                opens_at=now - timedelta(days=20), closes_at=now + timedelta(days=30))
            session.add(call)
            yield f"call opened: {call.title} (closes in 30 days)"
        _user(session, "coordinator@citypair.demo", "Clara Coordinator", UserRole.COORDINATOR)
        _user(session, "latam@citypair.demo", "Luis Latin America Team", UserRole.COORDINATOR,
              region_scope="Latin America and the Caribbean")
        _user(session, "admin@citypair.demo", "Ada Admin", UserRole.ADMIN)
        for email, name, org_name, kind, country, pop in (
            ("lyon@citypair.demo", "Léa Martin", "Lyon", "city", "France", 522_000),
            ("porto@citypair.demo", "Rui Costa", "Porto", "city", "Portugal", 232_000),
            ("vale@citypair.demo", "Ana Silva", "Vale do Sousa group", "group", "Portugal",
             None),
        ):
            if session.scalar(select(User).where(User.email == email)) is None:
                org = Organisation(name=org_name, kind=kind, country=country, population=pop)
                _user(session, email, name, UserRole.APPLICANT, organisation=org)
        session.flush()
        partner = session.scalar(select(PartnerCity).where(PartnerCity.name == "Rosario"))
        if partner and session.scalar(select(User).where(
                User.email == "rosario@citypair.demo")) is None:
            _user(session, "rosario@citypair.demo", "Rosa Rosario", UserRole.PARTNER,
                  partner_city=partner)
    yield f"demo accounts (password {DEMO_PASSWORD}): coordinator@citypair.demo, " \
          "latam@citypair.demo, admin@citypair.demo, lyon@citypair.demo, porto@citypair.demo, " \
          "vale@citypair.demo, rosario@citypair.demo"
