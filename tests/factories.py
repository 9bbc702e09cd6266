"""Plain builders for test data: real rows through the real models, no mocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.db import db
from webapp.models import (
    Call,
    Case,
    GroupMember,
    Organisation,
    PartnerCity,
    Programme,
    Topic,
    User,
    UserRole,
)
from webapp.operations.accounts import hash_password
from workflows import vocabulary

PASSWORD = "correct horse battery"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def user(email: str, role: str = UserRole.APPLICANT, **kw) -> User:
    u = User(email=email, name=kw.pop("name", email.split("@")[0].title()), role=role,
             password_hash=password_hash(),
             confirmed_at=kw.pop("confirmed_at", datetime.now().astimezone()), **kw)
    db.session.add(u)
    return u


@dataclass
class World:
    programme: Programme
    call: Call
    org_a: Organisation
    org_b: Organisation
    applicant_a: User
    applicant_b: User
    coordinator: User
    coordinator_latam: User
    coordinator_asia: User
    admin: User
    partner_city: PartnerCity
    partner_city_asia: PartnerCity
    partner: User


def make_world(now: datetime) -> World:
    s = db.session
    programme = Programme(slug="iuc", name="International Urban Cooperation")
    call = Call(programme=programme, slug="c2c", kind="city-to-city", title="City-to-city call",
                partner_regions=["Asia", "Latin America and the Caribbean", "North America"],
                opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=20))
    org_a = Organisation(name="Lyon", kind="city", country="FR", population=522_000)
    org_b = Organisation(name="Porto", kind="city", country="PT", population=232_000)
    topics = {t.slug: t for t in s.scalars(select(Topic))}
    pc = PartnerCity(name="Rosario", country="AR", region="Latin America and the Caribbean",
                     challenge_statement="smart cities and clean energy",
                     topics=[topics["smart-city"], topics["energy-transition"]])
    pc_asia = PartnerCity(name="Yokohama", country="JP", region="Asia",
                          challenge_statement="smart cities", topics=[topics["smart-city"]])
    s.add_all([programme, call, org_a, org_b, pc, pc_asia])
    s.flush()
    w = World(
        programme=programme, call=call, org_a=org_a, org_b=org_b,
        applicant_a=user("anna@lyon.fr", organisation=org_a),
        applicant_b=user("bruno@porto.pt", organisation=org_b),
        coordinator=user("coord@iuc.eu", UserRole.COORDINATOR),
        coordinator_latam=user("latam@iuc.eu", UserRole.COORDINATOR,
                               region_scope="Latin America and the Caribbean"),
        coordinator_asia=user("asia@iuc.eu", UserRole.COORDINATOR, region_scope="Asia"),
        admin=user("admin@iuc.eu", UserRole.ADMIN),
        partner_city=pc, partner_city_asia=pc_asia,
        partner=user("rosa@rosario.ar", UserRole.PARTNER, partner_city=pc),
    )
    s.commit()
    return w


def complete_application(case: Case, region: str = "Latin America and the Caribbean") -> Case:
    """Fill every section of a draft so it can be submitted."""
    s = db.session
    case.contact_name = case.contact_name or "Anna Contact"
    case.contact_email = case.contact_email or "anna@lyon.fr"
    wanted = ["smart-city", "urban-mobility"]
    case.topics = list(s.scalars(select(Topic).where(Topic.slug.in_(wanted))))
    case.challenge_statement = "We want to decarbonise urban mobility and use smart city data " \
                               "to plan transport for everyone."
    case.partner_region = region
    case.stakeholders = "Transport department, university, chamber of commerce"
    case.resources_committed = "Two staff members at 30% for 18 months and a travel budget."
    case.commitments = {c.key: True for c in vocabulary(case.workflow).commitments}
    case.sections_saved = ["organisation", "contact", "topics", "partnership", "resources",
                           "commitments"]
    if case.organisation.kind == "group" and not case.organisation.members:
        case.organisation.members = [
            GroupMember(name="Lead town", population=70_000, is_lead=True),
            GroupMember(name="Second town", population=40_000, commitment_declared=True)]
    s.commit()
    return case


def sign_agreement(case_id: int, user: User, now: datetime | None = None) -> None:
    """Sign the case's current agreement as ``user``, by typed signature."""
    from webapp.operations import agreements

    current = agreements.current(db.session, case_id)
    agreements.sign_typed(case_id, user, agreement_hash=current.content_hash,
                          full_name=user.name, title="Mayor", consent=True, now=now)
