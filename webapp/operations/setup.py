"""Loading reference data and the demo: the topic vocabulary, a programme, calls, partner
cities, sample applicants and cases at different stages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from importlib import resources

from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.models import Call, Organisation, PartnerCity, Programme, Topic, User, UserRole
from webapp.operations import vocabulary as topic_vocabulary
from webapp.operations.accounts import hash_password
from webapp.operations.demo import load_history
from workflows import city_to_city, region_to_region
from workflows import vocabulary as kind_vocabulary
from workflows.countries import normalise_country
from workflows.engine import Purpose
from workflows.pairing import read_pairings
from workflows.topics import map_text_to_topics, vocabulary

DEMO_PASSWORD = "citypair-demo"  # noqa: S105 — published on purpose: demo accounts only


def load_topics() -> int:
    """Insert the shipped topics that are missing; returns how many were added.

    Topics are never deleted, so a topic an admin retired or merged is never missing: a later
    install neither brings it back nor touches a label an admin changed.
    """
    with db.transaction() as session:
        have = set(session.scalars(select(Topic.slug)))
        new = [Topic(slug=t.slug, label=t.label, family=t.family) for t in vocabulary()
               if t.slug not in have]
        session.add_all(new)
        return len(new)


def _offered(session, slugs) -> list[Topic]:
    """The topics a new partner city gets for ``slugs``: merged ones give their survivor,
    retired ones nothing (an admin may have changed the vocabulary since it shipped)."""
    chosen, _refused = topic_vocabulary.choose(session, slugs)
    return list(session.scalars(select(Topic).where(Topic.slug.in_(chosen))))


def history_file() -> str:
    return str(resources.files("workflows") / "data" / "iuc_2017_pairings.csv")


def load_partner_cities_from_history() -> int:
    """The partner cities of the 2017 pairings, their topics mapped onto the vocabulary."""
    with db.transaction() as session:
        have = set(session.scalars(select(PartnerCity.name)))
        added = 0
        for row in read_pairings(history_file()):
            if row["partner_city"] in have:
                continue
            have.add(row["partner_city"])
            session.add(PartnerCity(
                name=row["partner_city"], country=normalise_country(row["partner_country"]),
                region=row["partner_region"], challenge_statement=row["topics"],
                topics=_offered(session, map_text_to_topics(row["topics"])), contacts=[]))
            added += 1
        return added


_demo_hash: list[str] = []


def demo_password_hash() -> str:
    """The demo password's hash, computed once: hashing is slow on purpose."""
    if not _demo_hash:
        _demo_hash.append(hash_password(DEMO_PASSWORD))
    return _demo_hash[0]


def _user(session, email: str, name: str, role: str, **kw) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=demo_password_hash(),
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
                                  targets={"city_partnerships": 20, "regional_partnerships": 10})
            session.add(programme)
        call = session.scalar(select(Call).where(Call.slug == "city-to-city-demo"))
        if call is None:
            call = Call(
                programme=programme, slug="city-to-city-demo", kind=city_to_city.WORKFLOW.kind,
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
        # Each demo person works in their own city's time zone.
        for email, name, org_name, kind, country, pop, zone in (
            ("lyon@citypair.demo", "Léa Martin", "Lyon", "city", "FR", 522_000,
             "Europe/Paris"),
            ("porto@citypair.demo", "Rui Costa", "Porto", "city", "PT", 232_000,
             "Europe/Lisbon"),
            ("vale@citypair.demo", "Ana Silva", "Vale do Sousa group", "group", "PT",
             None, "Europe/Lisbon"),
        ):
            if session.scalar(select(User).where(User.email == email)) is None:
                org = Organisation(name=org_name, kind=kind, country=country, population=pop)
                _user(session, email, name, UserRole.APPLICANT, organisation=org,
                      timezone=zone)
        session.flush()
        partner = session.scalar(select(PartnerCity).where(PartnerCity.name == "Rosario"))
        if partner and session.scalar(select(User).where(
                User.email == "rosario@citypair.demo")) is None:
            _user(session, "rosario@citypair.demo", "Rosa Rosario", UserRole.PARTNER,
                  partner_city=partner, timezone="America/Argentina/Cordoba")
    yield f"demo accounts (password {DEMO_PASSWORD}): coordinator@citypair.demo, " \
          "latam@citypair.demo, admin@citypair.demo, lyon@citypair.demo, porto@citypair.demo, " \
          "vale@citypair.demo, rosario@citypair.demo"
    yield from load_history(demo_password_hash())
    yield from load_reminder_demo()
    yield from load_region_demo()


def load_reminder_demo() -> Iterator[str]:
    """Porto's application with an information request whose reminder falls due three minutes
    after loading, so the demo shows a reminder arriving in the mail sink."""
    from webapp.mail.rendering import local_time
    from webapp.models import Case
    from webapp.operations import applications, cases

    porto = db.session.scalar(select(User).where(User.email == "porto@citypair.demo"))
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@citypair.demo"))
    call = db.session.scalar(select(Call).where(Call.slug == "city-to-city-demo"))
    if porto is None or coordinator is None or call is None or db.session.scalar(
            select(Case.id).where(Case.organisation_id == porto.organisation_id).limit(1)):
        return
    case = applications.start_application(porto, call.id)
    for section, data in (
        ("organisation", {"name": "Porto", "kind": "city", "country": "PT",
                          "population": 232_000, "website": "https://www.porto.pt"}),
        ("contact", {"contact_name": porto.name, "contact_title": "International relations",
                     "contact_email": porto.email}),
        ("topics", {"topics": ["urban-mobility", "smart-city"],
                    "challenge_statement": "Porto wants cleaner, safer streets: more people on "
                                           "foot, by bike and by metro, planned with open data."}),
        ("partnership", {"partner_region": "Latin America and the Caribbean",
                         "stakeholders": "Metro do Porto, University of Porto, residents' "
                                         "associations, the chamber of commerce"}),
        ("resources", {"resources_committed": "Two staff members at 30% for 18 months and a "
                                              "travel budget for two study tours."}),
        ("commitments", {c.key: True for c in kind_vocabulary(call.kind).commitments}),
    ):
        applications.save_section(case.id, porto, section, data)
    cases.fire(case.id, Purpose.SUBMIT_APPLICATION, porto)
    # The reminder goes three days before the deadline: three minutes from now.
    due = utcnow() + timedelta(days=3, minutes=3)
    cases.fire(case.id, Purpose.REQUEST_INFORMATION, coordinator, {
        "message": "Please upload the city council's decision to take part in the programme.",
        "response_deadline": due})
    reference = db.session.get(Case, case.id).reference
    remind_at = local_time(due - timedelta(days=3), porto.timezone, porto.locale)
    yield f"information requested from Porto ({reference}): the reminder to " \
          f"porto@citypair.demo lands in the mail sink at {remind_at}, three minutes from now"


#: partner regions of the region-to-region demo: name, country code, population, challenge,
#: topics
REGION_PARTNERS = (
    ("Paraná", "BR", 11_400_000,
     "Agri-food innovation and the bioeconomy, renewable energy and a smart-specialisation "
     "strategy for the state's industry.",
     ("agriculture-food", "innovation", "energy-transition", "smart-production")),
    ("Magallanes", "CL", 166_000,
     "Green hydrogen, sustainable tourism and fisheries at the southern tip of Chile.",
     ("energy-transition", "tourism", "innovation")),
    ("Tierra del Fuego", "AR", 190_000,
     "Electronics manufacturing, clean energy and sustainable tourism.",
     ("smart-production", "energy-transition", "tourism")),
)
REGION = "Latin America and the Caribbean"


def load_region_demo() -> Iterator[str]:
    """The region-to-region demo: a call for EU regions and provinces with Latin American
    partner regions, three partner regions and Silesia's application waiting to be scored by
    two evaluators."""
    from webapp.operations import applications, cases

    now = utcnow()
    with db.transaction() as session:
        programme = session.scalar(select(Programme).where(Programme.slug == "iuc"))
        call = session.scalar(select(Call).where(Call.slug == "region-to-region-demo"))
        if programme is None or call is not None:
            return
        call = Call(
            programme=programme, slug="region-to-region-demo",
            kind=region_to_region.WORKFLOW.kind,
            title="Region-to-region innovation cooperation: EU and Latin American regions",
            summary="EU regions apply to cooperate for 12 facilitated months with a region in "
                    "Latin America and the Caribbean on regional innovation, and deliver a "
                    "joint regional innovation roadmap.",
            partner_regions=[REGION], allowed_org_types=["region", "province"],
            population_threshold=0,
            cooperation_months=12, report_interval_months=6,
            opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=45))
        session.add(call)
        have = set(session.scalars(select(PartnerCity.name)))
        for name, country, population, challenge, slugs in REGION_PARTNERS:
            if name not in have:
                session.add(PartnerCity(name=name, country=country, region=REGION, kind="region",
                                        population=population, challenge_statement=challenge,
                                        topics=_offered(session, slugs)))
        applicant = session.scalar(select(User).where(User.email == "silesia@citypair.demo"))
        if applicant is None:
            silesia = Organisation(name="Silesia", kind="region", country="PL",
                                   population=4_400_000, website="https://www.slaskie.pl")
            applicant = _user(session, "silesia@citypair.demo", "Piotr Nowak",
                              UserRole.APPLICANT, organisation=silesia,
                              timezone="Europe/Warsaw")
        session.flush()
        call_id, call_kind, applicant_id = call.id, call.kind, applicant.id
    yield f"call opened: {call.title} (closes in 45 days)"
    applicant = db.session.get(User, applicant_id)
    case = applications.start_application(applicant, call_id)
    for section, data in (
        ("contact", {"contact_name": "Piotr Nowak", "contact_title": "Head of regional "
                     "development", "contact_email": "silesia@citypair.demo"}),
        ("topics", {"topics": ["innovation", "energy-transition", "smart-production"],
                    "challenge_statement": "Silesia is moving from coal to clean industry and "
                                           "wants partners in green hydrogen and smart "
                                           "production for its smart-specialisation strategy."}),
        ("partnership", {"partner_region": REGION,
                         "stakeholders": "Regional development agency, University of Silesia, "
                                         "Katowice Special Economic Zone, energy cluster"}),
        ("resources", {"resources_committed": "Three staff members at 40% for 12 months and a "
                                              "budget for two study visits."}),
        ("commitments", {c.key: True for c in kind_vocabulary(call_kind).commitments}),
        ("organisation", {"name": "Silesia", "kind": "region", "country": "PL",
                          "population": 4_400_000, "website": "https://www.slaskie.pl"}),
    ):
        applications.save_section(case.id, applicant, section, data)
    cases.fire(case.id, Purpose.SUBMIT_APPLICATION, applicant)
    coordinator = db.session.scalar(select(User).where(
        User.email == "coordinator@citypair.demo"))
    cases.fire(case.id, Purpose.DECLARE_ELIGIBLE, coordinator)
    yield "region applicant: silesia@citypair.demo (Silesia, Poland), its case awaits scoring"
