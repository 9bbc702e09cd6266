"""The demo's history: last year's city-to-city call, played through the real operations under a
virtual clock up to now, so every screen has something to show on the first run.

Twenty EU cities of the 2017 round (their real partner cities and topics) applied; the
coordinator judged them, paired them in waves as partner cities became free, and the pairs
signed, reported and planned. Now the call is closed and its cases stand at every later stage:
pairings waiting for an answer, agreements waiting for a signature, cooperations in their
3rd, 10th and 17th months with deliverables on time, late, overdue and sent back, plans due and
in review, a completed case, two ineligible applicants, a withdrawal and two cities still
waiting for a partner. A few applications to today's open call wait for the eligibility check.

Between steps the clock moves on and the real sweep runs each morning, so reminders and
escalations are written when they would have been and the system closes the cooperations that
end. The e-mail of the history is not sent: what is older than ``MAIL_TAIL`` is recorded as
delivered at the time it was written, and the recent tail is handed to the workers, so the mail
sink shows the last days' messages and not hundreds of stale ones.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, true, update

from webapp.db import db, use_clock, utcnow
from webapp.errors import OperationError
from webapp.i18n import guess_timezone
from webapp.mail import outbox
from webapp.models import (
    Call,
    Case,
    Deliverable,
    Notification,
    NotificationStatus,
    Organisation,
    PartnerCity,
    Programme,
    Reminder,
    User,
    UserRole,
)
from webapp.operations import (
    agreements,
    applications,
    backoffice,
    cooperation,
    lap,
    pairing,
    reminders,
)
from webapp.operations import cases as case_ops
from workflows import city_to_city, get_workflow, workflows
from workflows import vocabulary as kind_vocabulary
from workflows.engine import Purpose
from workflows.schedule import add_months

DAY = timedelta(days=1)
#: the states an automatic transition (the sweep's) leaves
AUTOMATIC_SOURCES = sorted({source for wf in workflows().values() for t in wf.transitions
                            if t.automatic for source in t.sources})
#: the slug of last year's call; its presence means the history is loaded
HISTORY_CALL = "city-to-city-first-round"
#: e-mail written this close to now is handed to the workers; older is recorded as delivered
MAIL_TAIL = 3 * DAY
#: the sweep's hour (UTC) each simulated morning
SWEEP_HOUR = 5
COORDINATOR = "coordinator@citypair.demo"
LATAM_TEAM = "latam@citypair.demo"
LATIN_AMERICA = "Latin America and the Caribbean"
DOMAIN = "citypair.demo"


@dataclass(frozen=True)
class City:
    """An EU applicant of the demo: its account, organisation and application."""

    key: str  # the local part of its account's e-mail
    name: str
    country: str
    population: int
    person: str
    title: str
    topics: tuple[str, ...]
    statement: str
    stakeholders: str
    partner: str = ""  # its partner city of 2017, by the name the 2017 table gives
    region: str = ""  # the partner region it prefers, when it has no partner city yet


#: the partner cities' contacts: (the city's name in the 2017 table, account key, person)
PARTNERS = (
    ("Surat", "surat", "Priya Desai"),
    ("Udaipur", "udaipur", "Arjun Mehta"),
    ("Yokohama", "yokohama", "Haruka Sato"),
    ("Chongqing", "chongqing", "Li Wei"),
    ("Gwalior", "gwalior", "Rahul Sharma"),
    ("Ottawa", "ottawa", "Émilie Tremblay"),
    ("Vitória", "vitoria", "Camila Souza"),
    ("Kamakura", "kamakura", "Kenji Takahashi"),
    ("Consórcio ABC (consortium of São Paulo municipalities)", "abc", "Marcos Oliveira"),
    ("Ichinomya", "ichinomya", "Yuki Tanaka"),
    ("Buenos Aires", "buenosaires", "Martín Fernández"),
    ("Belo Horizonte", "belohorizonte", "Juliana Costa"),
    ("Lucknow", "lucknow", "Anjali Verma"),
    ("Kochi", "kochi", "Thomas Kurian"),
    ("Panaji-Goa", "panaji", "Sofia Fernandes"),
    ("Chihuahua", "chihuahua", "Alejandro Torres"),
)


def _city(key, name, country, population, person, title, topics, statement, partner="",
          region=LATIN_AMERICA):
    stakeholders = (f"{name}'s city departments, the local university, the chamber of "
                    "commerce, residents' associations and the regional government")
    return City(key, name, country, population, person, title, tuple(topics), statement,
                stakeholders, partner, region)


CITIES = {c.key: c for c in (
    _city("rotterdam", "Rotterdam", "NL", 651_000, "Sanne de Vries", "Resilience officer",
          ("resilience", "flood-risk", "climate-adaptation", "water"),
          "Most of Rotterdam lies below sea level. We want to share our resilience strategy "
          "(water squares, green roofs, a flood-proof port) and learn how a fast-growing city "
          "plans for heat and floods at once.", "Surat"),
    _city("aarhus", "Aarhus", "DK", 285_000, "Mette Jensen", "Head of water and waste",
          ("water", "waste", "circular-economy"),
          "Aarhus turns its wastewater into energy and wants to sort far more household waste "
          "at source. We look for a partner that manages scarce water and lakes under "
          "pressure from growth.", "Udaipur"),
    _city("frankfurt", "Frankfurt", "DE", 773_000, "Jonas Weber", "Smart city programme lead",
          ("smart-city", "urban-mobility", "energy-transition"),
          "Frankfurt is building an open urban data platform for mobility, energy and "
          "building permits and wants a partner with a mature smart-city programme to test "
          "shared data standards.", "Yokohama"),
    _city("mannheim", "Mannheim", "DE", 315_000, "Katrin Schäfer", "Economic development",
          ("smart-production", "innovation", "health", "ageing"),
          "Mannheim's medical technology cluster and smart production sites want partners "
          "for care technology for an ageing population and for digital manufacturing.",
          "Chongqing"),
    _city("leuven", "Leuven", "BE", 102_000, "Pieter Claes", "Smart city coordinator",
          ("smart-city", "innovation", "governance"),
          "Leuven wants its citizens to shape the smart city: open data, a living lab with the "
          "university and digital services that every resident can use.", "Gwalior"),
    _city("genoa", "Genoa", "IT", 565_000, "Giulia Ferrari", "International relations",
          ("smart-city", "energy-transition", "port-logistics"),
          "Genoa wants clean energy for its port and its hillside districts, with smart "
          "grids and sensors that help the city respond to storms.", "Rosario"),
    _city("malmo", "Malmö", "SE", 350_000, "Erik Lindqvist", "Sustainability strategist",
          ("smart-city", "governance", "social-inclusion"),
          "Malmö builds the Sustainable Development Goals into its budget and its "
          "neighbourhood plans, and wants to compare how a partner city measures progress.",
          "Ottawa"),
    _city("sevilla", "Sevilla", "ES", 684_000, "Carmen Ruiz", "Water and environment",
          ("water", "flood-risk", "climate-adaptation"),
          "Sevilla faces drought and flash floods in the same year. We want to manage the "
          "Guadalquivir's floods and our water supply with nature-based solutions.",
          "Vitória"),
    _city("umea", "Umeå", "SE", 130_000, "Linnea Berg", "Gender equality and inclusion",
          ("smart-city", "social-inclusion", "gender"),
          "Umeå plans its streets and services with gender equality in mind and wants to "
          "link its smart-city work to the Sustainable Development Goals.", "Kamakura"),
    _city("torino", "Torino", "IT", 848_000, "Marco Bianchi", "Mobility department",
          ("urban-mobility", "health", "air-quality"),
          "Torino wants cleaner air and healthier streets: more cycling and walking, "
          "electric buses and a metropolitan mobility plan shared by its municipalities.",
          "Consórcio ABC (consortium of São Paulo municipalities)"),
    _city("ioannina", "Ioannina", "GR", 113_000, "Eleni Papadopoulou", "Urban planning",
          ("urban-mobility", "tourism"),
          "Ioannina wants sustainable transport around its lake and old town, for residents "
          "and for the visitors who come in growing numbers.", "Ichinomya"),
    _city("madrid", "Madrid", "ES", 3_300_000, "Javier Moreno", "Urban regeneration office",
          ("urban-regeneration", "housing", "social-inclusion"),
          "Madrid regenerates its southern districts with their residents: housing, green "
          "space and local jobs without pushing people out.", "Buenos Aires"),
    _city("almada", "Almada", "PT", 177_000, "Inês Carvalho", "Economic development",
          ("smart-city", "economic-development", "jobs-skills"),
          "Almada wants digital services that help small businesses grow and young people "
          "find work across the river from Lisbon.", "Belo Horizonte"),
    _city("riga", "Riga", "LV", 605_000, "Laura Ozola", "City development department",
          ("smart-city", "urban-mobility"),
          "Riga wants smart traffic management and a public transport network that people "
          "choose over the car.", "Lucknow"),
    _city("vilnius", "Vilnius", "LT", 580_000, "Tomas Kazlauskas", "Innovation office",
          ("urban-mobility", "waste", "water"),
          "Vilnius wants smart waste collection, water networks that lose less, and "
          "mobility data shared with the whole region.", "Kochi"),
    _city("essen", "Essen", "DE", 583_000, "Stefan Becker", "Green capital office",
          ("energy-transition", "innovation", "urban-regeneration"),
          "Essen turned its coal mines into green districts. We want to share clean "
          "technology and renewable energy with a city on the same path.", region="Asia"),
    _city("zaragoza", "Zaragoza", "ES", 675_000, "Pilar Gómez", "Mobility and planning",
          ("urban-mobility", "air-quality"),
          "Zaragoza built a tram, a bike-sharing scheme and low-traffic streets; we want "
          "to compare them with a partner's bus rapid transit."),
    _city("kamatero", "Agii Anargiri-Kamatero", "GR", 62_000, "Nikos Georgiou", "Mayor's office",
          ("urban-mobility", "innovation"),
          "Our municipality in West Athens wants better links to the metro and support "
          "for its small manufacturers."),
    _city("santotirso", "Santo Tirso", "PT", 71_000, "Rita Almeida", "Environment department",
          ("nature-based-solutions", "water", "urban-regeneration"),
          "Santo Tirso wants to bring the river Ave back into town life with nature-based "
          "solutions."),
    _city("parma", "Parma", "IT", 198_000, "Francesca Conti", "Social policies",
          ("gender", "social-inclusion", "economic-development"),
          "Parma wants women entrepreneurs and newcomers to share in the city's food "
          "economy."),
    # -- applicants of today's open call
    _city("granada", "Granada", "ES", 228_000, "Lucía Navarro", "Smart city office",
          ("smart-city", "innovation", "tourism"),
          "Granada wants to manage its visitors with data and to grow its biotechnology "
          "cluster around the health sciences campus."),
    _city("murcia", "Murcia", "ES", 460_000, "Antonio Sánchez", "Urban innovation",
          ("smart-city", "water", "agriculture-food"),
          "Murcia wants smart irrigation for its huerta and digital urban services that "
          "reach every district.", region="Asia"),
    _city("bratislava", "Bratislava", "SK", 475_000, "Zuzana Horváthová", "Climate office",
          ("climate-adaptation", "nature-based-solutions", "water"),
          "Bratislava adapts to heat waves with green roofs, trees and rainwater kept where it "
          "falls, and wants a partner doing the same in a warmer climate.",
          region="North America"),
    _city("karlsruhe", "Karlsruhe", "DE", 308_000, "Felix Hoffmann", "Digital city office",
          ("smart-city", "urban-mobility"),
          "Karlsruhe wants to connect its research on autonomous mobility with a partner "
          "city's transport operators."),
)}


def demo_email(key: str) -> str:
    return f"{key}@{DOMAIN}"


# -- what the pairs write --------------------------------------------------------------------

def _report(city: City, partner: str, n: int) -> dict[str, str]:
    return {
        "achievements": f"A study visit of {partner}'s team to {city.name} and a joint "
                        f"workshop on {city.topics[0].replace('-', ' ')} with "
                        f"{10 + 3 * n} participants.",
        "difficulties": "Visas took longer than planned; one visit moved by a month.",
        "next_steps": f"A return visit to {partner} and a first pilot in {city.name}.",
        "lap_progress": "The local stakeholder group met twice and chose its priorities.",
        "indicators": "",
    }


def _plan(city: City, partner: str) -> dict[str, Any]:
    topic = city.topics[0].replace("-", " ")
    return {
        "summary": {"summary": f"How {city.name} will act on {topic} by 2030, with what it "
                               f"learned in {partner}.",
                    "priority": topic.capitalize()},
        "context": {"context": city.statement,
                    "baseline": "Measured with the university in the first months of the "
                                "cooperation."},
        "vision": {"vision": f"A {city.name} where {topic} serves every district.",
                   "objectives": "Three pilots running by 2027; the first results reported "
                                 "each year."},
        "stakeholders": {"rows": [
            {"member": city.person, "organisation": f"City of {city.name}",
             "sector": "public_administration"},
            {"member": "", "organisation": f"University of {city.name}",
             "sector": "academia"},
            {"member": "", "organisation": "Chamber of commerce", "sector": "business"},
            {"member": "", "organisation": "Regional government",
             "sector": "other_government"},
            {"member": "", "organisation": "Residents' associations",
             "sector": "civil_society"}]},
        "actions": {"rows": [{"title": f"{topic.capitalize()} strategy",
                              "objective": "A strategy adopted by the city council",
                              "lead": f"City of {city.name}", "cost": 150_000,
                              "funding_source": "City budget"}]},
        "pilots": {"rows": [{"title": f"A {topic} pilot in one district",
                             "timeframe": "Eighteen months", "budget": 400_000,
                             "funding_sources": "ERDF and the city budget",
                             "financing_model": "Public investment with a private operator",
                             "expected_results": "A tested model to roll out city-wide"}]},
        "indicators": {"rows": [{"name": f"Districts covered ({topic})", "baseline": "1",
                                 "target": "6", "source": "City statistics",
                                 "frequency": "Yearly"}]},
        "alignment": {"sdgs": "SDG 11, sustainable cities and communities.",
                      "sdg_topics": ["sdg-11"],
                      "new_urban_agenda": "Integrated planning with residents.",
                      "urban_agenda_eu": "The matching partnership of the Urban Agenda.",
                      "sendai": "Services that keep running in a crisis.",
                      "paris": "Lower emissions from the city's own operations."},
        "learned": {"learned": f"{partner}'s way of involving residents early and of "
                               "financing pilots with private partners."},
    }


# -- the history ---------------------------------------------------------------------------

class History:
    """Steps queued at past moments, played in time order with a sweep each morning, the
    app reading the time from ``moment`` meanwhile."""

    def __init__(self, now: datetime):
        self.now = now.replace(second=0, microsecond=0)
        self.moment = self.now
        self.steps: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.order = itertools.count()
        self.case_ids: dict[str, int] = {}
        self.call_ids: dict[str, int] = {}

    # -- when

    def ago(self, days: float, hour: int = 9, minute: int = 0) -> datetime:
        """``days`` before now, at ``hour``:``minute`` UTC (never later than now)."""
        moment = (self.now - days * DAY).replace(hour=hour, minute=minute)
        return min(moment, self.now - timedelta(minutes=30))

    @staticmethod
    def after(start: datetime, months: int, days: float = 0, hour: int = 10) -> datetime:
        """``months`` and ``days`` after ``start``, at ``hour`` UTC."""
        return (add_months(start, months) + days * DAY).replace(hour=hour, minute=15)

    def at(self, when: datetime, step: Callable[..., None], *args: Any) -> None:
        assert when < self.now, (step.__name__, when)
        heapq.heappush(self.steps, (when, next(self.order), step, args))

    def play(self) -> None:
        """Every step in time order, the sweep each morning in between."""
        tick = self.steps[0][0].replace(hour=SWEEP_HOUR, minute=0) + DAY
        while self.steps or tick < self.now:
            if tick < self.now and (not self.steps or tick < self.steps[0][0]):
                self.sweep(tick)
                tick += DAY
                continue
            when, _, step, args = heapq.heappop(self.steps)
            self.moment = when
            self.step(when, step, args)

    def step(self, when: datetime, step: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            step(*args)
        except OperationError as exc:
            # A story that the operations refuse is a bug of the story: say which step.
            raise OperationError(f"The demo's history, {step.__name__}{args} on "
                                 f"{when:%Y-%m-%d %H:%M}: {exc.message} "
                                 f"{' '.join(exc.reasons)}", exc.reasons) from exc
        finally:
            db.session.remove()

    def sweep(self, tick: datetime) -> None:
        """The morning's sweep, on the mornings it has something to do: the workers have
        delivered yesterday's mail by then (unless it belongs to the recent tail)."""
        if tick < self.now - MAIL_TAIL:
            settle_mail(tick)
        due = db.session.scalar(select(Reminder.id).where(
            Reminder.done_at.is_(None), Reminder.scheduled_at <= tick).limit(1))
        ending = db.session.scalar(select(Case.id).where(
            Case.state.in_(AUTOMATIC_SOURCES), Case.cooperation_ends_at <= tick).limit(1))
        if due is not None or ending is not None:
            self.moment = tick
            reminders.sweep(tick)
        db.session.remove()

    # -- who

    @staticmethod
    def person(email: str) -> User:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        return user

    def coordinator(self) -> User:
        return self.person(COORDINATOR)

    def applicant(self, key: str) -> User:
        return self.person(demo_email(key))

    def partner_of(self, key: str) -> User:
        case = db.session.get(Case, self.case_ids[key])
        return db.session.scalar(select(User).where(
            User.partner_city_id == case.partner_city_id, User.role == UserRole.PARTNER)
            .order_by(User.id).limit(1))

    def party(self, key: str, who: str) -> User:
        return self.applicant(key) if who == "applicant" else self.partner_of(key)

    # -- applying and the eligibility check

    def apply(self, key: str, call: str, started: datetime, submitted: datetime | None) -> None:
        self.at(started, self._start, key, call, submitted is not None)
        if submitted is not None:
            self.at(submitted, self._submit, key)

    def _start(self, key: str, call: str, complete: bool) -> None:
        city, user = CITIES[key], self.applicant(key)
        case = applications.start_application(user, self.call_ids[call])
        self.case_ids[key] = case.id
        partner = db.session.scalar(select(PartnerCity).where(PartnerCity.name == city.partner))
        region = partner.region if partner else city.region
        sections = [
            ("organisation", {"name": city.name, "kind": "city", "country": city.country,
                              "population": city.population}),
            ("contact", {"contact_name": city.person, "contact_title": city.title,
                         "contact_email": user.email}),
            ("topics", {"topics": list(city.topics), "challenge_statement": city.statement}),
            ("partnership", {"partner_region": region, "stakeholders": city.stakeholders}),
            ("resources", {"resources_committed": "Two staff members at 30% for 18 months "
                                                  "and a travel budget for two study visits."}),
            ("commitments", {c.key: True for c in kind_vocabulary(
                city_to_city.WORKFLOW.kind).commitments}),
        ]
        for section, data in sections if complete else sections[:3]:
            applications.save_section(case.id, self.applicant(key), section, data)

    def _submit(self, key: str) -> None:
        case_ops.fire(self.case_ids[key], Purpose.SUBMIT_APPLICATION, self.applicant(key))

    def fire(self, when: datetime, key: str, transition: Purpose, who: str = "coordinator",
             payload: dict[str, Any] | None = None) -> None:
        self.at(when, self._fire, key, transition, who, payload or {})

    def _fire(self, key: str, transition: Purpose, who: str, payload: dict[str, Any]) -> None:
        actor = self.coordinator() if who == "coordinator" else self.party(key, who)
        case_ops.fire(self.case_ids[key], transition, actor, payload)

    def request_information(self, key: str, asked: datetime, answered: datetime) -> None:
        self.at(asked, self._request_information, key)
        self.fire(answered, key, Purpose.PROVIDE_INFORMATION, "applicant",
                  {"answer": "The council's decision of last month is now attached."})

    def _request_information(self, key: str) -> None:
        case_ops.fire(self.case_ids[key], Purpose.REQUEST_INFORMATION, self.coordinator(), {
            "message": "Please upload the city council's decision to take part.",
            "response_deadline": self.moment + 7 * DAY})

    def assign(self, key: str) -> None:
        """The Latin America team looks after the cases that look for a partner there."""
        case = db.session.get(Case, self.case_ids[key])
        team = LATAM_TEAM if case.partner_region == LATIN_AMERICA else COORDINATOR
        backoffice.assign_coordinator(case.id, self.coordinator(), self.person(team).id)

    # -- pairing and the agreement

    def propose(self, when: datetime, key: str, partner: str = "") -> None:
        self.at(when, self._propose, key, partner or CITIES[key].partner)

    def _propose(self, key: str, partner_name: str) -> None:
        partner = db.session.scalar(select(PartnerCity).where(PartnerCity.name == partner_name))
        case = db.session.get(Case, self.case_ids[key])
        pairing.propose(case.id, self.coordinator(), partner.id, expected_version=case.version)

    def sign(self, when: datetime, key: str, who: str) -> None:
        self.at(when, self._sign, key, who)

    def _sign(self, key: str, who: str) -> None:
        person = self.party(key, who)
        current = agreements.current(db.session, self.case_ids[key])
        agreements.sign_typed(self.case_ids[key], person, agreement_hash=current.content_hash,
                              full_name=person.name,
                              title="Deputy mayor" if who == "applicant" else "Secretary",
                              consent=True)

    def pair(self, key: str, proposed: datetime, *, partner: str = "",
             accepted: tuple[float | None, float | None] | None = None,
             signed: tuple[float | None, float | None] | None = None) -> datetime | None:
        """Propose ``key``'s partner (its 2017 one unless ``partner``); the partner, then the
        applicant, accept that many days later, and the applicant, then the partner, sign that
        many days after both accepted; returns when the cooperation starts, if both sign."""
        self.propose(proposed, key, partner)
        if accepted is None:
            return None
        for days, who in zip(accepted, ("partner", "applicant"), strict=True):
            if days is not None:
                self.fire(proposed + days * DAY, key, Purpose.ACCEPT_PARTNER, who)
        if signed is None:
            return None
        last = proposed + max(d for d in accepted if d is not None) * DAY
        for days, who in zip(signed, ("applicant", "partner"), strict=True):
            if days is not None:
                self.sign(last + days * DAY, key, who)
        if None in signed:
            return None
        return last + max(d for d in signed if d is not None) * DAY

    # -- the cooperation

    def deliverable(self, key: str, kind: str, sequence: int = 1) -> Deliverable:
        return db.session.scalar(select(Deliverable).where(
            Deliverable.case_id == self.case_ids[key], Deliverable.kind == kind,
            Deliverable.sequence == sequence))

    def hand_in(self, when: datetime, key: str, kind: str, sequence: int = 1,
                who: str = "applicant") -> None:
        self.at(when, self._hand_in, key, kind, sequence, who)

    def _hand_in(self, key: str, kind: str, sequence: int, who: str) -> None:
        city, person = CITIES[key], self.party(key, who)
        d = self.deliverable(key, kind, sequence)
        case = db.session.get(Case, self.case_ids[key])
        if kind == "draft_lap":
            lap.send_draft(case.id, self.applicant(key))
        elif kind in ("progress_report", "final_report"):
            start, end = cooperation.report_period(db.session, case, d)
            report = cooperation.report_for(db.session, d)
            values: dict[str, Any] = {"period_start": start, "period_end": end,
                                      "activity_ids": [],
                                      **_report(city, case.partner_city.name, sequence)}
            cooperation.save_report(case.id, d.id, person, values,
                                    expected_version=report.version if report else 0,
                                    submit=True)
        else:
            cooperation.submit_deliverable(
                case.id, d.id, person,
                note=f"Our joint work plan with {case.partner_city.name}: two study visits, "
                     "a staff exchange and a webinar series in the first year.")

    def review(self, when: datetime, key: str, kind: str, sequence: int = 1, *,
               back_for: float | None = None) -> None:
        """Accept, or send back with ``back_for`` days to revise."""
        self.at(when, self._review, key, kind, sequence, back_for)

    def _review(self, key: str, kind: str, sequence: int, back_for: float | None) -> None:
        d = self.deliverable(key, kind, sequence)
        if back_for is None:
            cooperation.review_deliverable(self.case_ids[key], d.id, self.coordinator(),
                                           accept=True)
        else:
            cooperation.review_deliverable(
                self.case_ids[key], d.id, self.coordinator(), accept=False,
                comments="Please add the indicators you agreed on and the dates of the visits.",
                resubmit_by=self.moment + back_for * DAY)

    def activity(self, when: datetime, key: str, kind: str, title: str, direction: str,
                 participants: int, who: str = "applicant") -> None:
        self.at(when, self._activity, key, kind, title, direction, participants, who)

    def _activity(self, key: str, kind: str, title: str, direction: str, participants: int,
                  who: str) -> None:
        day: date = (self.moment - 3 * DAY).date()
        cooperation.log_activity(self.case_ids[key], self.party(key, who), {
            "type": kind, "title": title, "starts_on": day, "ends_on": day + 2 * DAY,
            "direction": direction, "participants": participants})

    def write_plan(self, when: datetime, key: str, sections: tuple[str, ...] = ()) -> None:
        self.at(when, self._write_plan, key, sections)

    def _write_plan(self, key: str, sections: tuple[str, ...]) -> None:
        case = db.session.get(Case, self.case_ids[key])
        content = _plan(CITIES[key], case.partner_city.name)
        for section in sections or tuple(content):
            working = lap.get_plan(db.session, case.id)
            lap.save_section(case.id, self.applicant(key), section, content[section],
                             expected_revision=(working.revisions or {}).get(section, 0)
                             if working else 0)
            db.session.expire_all()

    def submit_plan(self, when: datetime, key: str) -> None:
        self.at(when, lambda: lap.submit(self.case_ids[key], self.applicant(key)))

    def review_plan(self, when: datetime, key: str, *, back_for: float | None = None) -> None:
        self.at(when, self._review_plan, key, back_for)

    def _review_plan(self, key: str, back_for: float | None) -> None:
        if back_for is None:
            lap.review(self.case_ids[key], self.coordinator(), approve=True)
        else:
            lap.review(self.case_ids[key], self.coordinator(), approve=False,
                       comments="Give each action a lead and a budget, and add the pilot you "
                                "discussed with your partner.",
                       response_deadline=self.moment + back_for * DAY)

    def cooperate(self, key: str, start: datetime, plan: dict[str, tuple[float, float | None]]
                  ) -> None:
        """The deliverables handed in (days after their due date; negative: before) and
        reviewed (days after hand-in; None: not yet), for each "kind:sequence" in ``plan``;
        what ``plan`` leaves out is not handed in."""
        months = {"work_plan:1": 2, "progress_report:1": 6, "progress_report:2": 12,
                  "draft_lap:1": 12, "progress_report:3": 18}
        for item, (handed, reviewed) in plan.items():
            kind, sequence = item.split(":")
            when = self.after(start, months[item], handed)
            who = "partner" if (len(key) + int(sequence)) % 3 == 0 else "applicant"
            if kind == "draft_lap":
                self.write_plan(when - 20 * DAY, key, ("summary", "context", "vision",
                                                       "stakeholders"))
            self.hand_in(when, key, kind, int(sequence), who)
            if reviewed is not None:
                self.review(when + reviewed * DAY, key, kind, int(sequence))
        self.activity(start + 25 * DAY, key, "working_meeting", "Kick-off meeting", "online", 12)
        if self.after(start, 4) < self.now:
            self.activity(self.after(start, 4), key, "study_tour",
                          f"Study visit to {CITIES[key].name}", "partner_to_eu", 9, "partner")
        if self.after(start, 9) < self.now:
            self.activity(self.after(start, 9), key, "study_tour", "Study visit to the partner",
                          "eu_to_partner", 7)

    def close(self, key: str, start: datetime, *, report: float, plan: float) -> None:
        """The last progress report on time, the final report and the plan ``report`` and
        ``plan`` days after the period ends (the sweep closes it meanwhile)."""
        ends = add_months(start, 18)
        self.hand_in(ends - 5 * DAY, key, "progress_report", 3)
        self.review(ends - 1 * DAY, key, "progress_report", 3)
        self.write_plan(ends - 40 * DAY, key)
        self.hand_in(ends + report * DAY, key, "final_report")
        self.review(ends + (report + 3) * DAY, key, "final_report")
        self.submit_plan(ends + plan * DAY, key)


def _backdate(session, start: datetime) -> None:
    """The programme, its partner cities and the demo's accounts existed before the history
    they take part in."""
    ours = User.email.like(f"%@{DOMAIN}")
    for model, which in ((Programme, Programme.slug == "iuc"), (PartnerCity, true()), (User, ours)):
        session.execute(update(model).where(which, model.created_at > start)
                        .values(created_at=start).execution_options(synchronize_session=False))
    session.execute(update(User).where(ours, User.confirmed_at > start)
                    .values(confirmed_at=start).execution_options(synchronize_session=False))


def _accounts(session, password_hash: str, now: datetime) -> None:
    """The applicants' and partner contacts' accounts the history acts as."""
    have = set(session.scalars(select(User.email).where(User.email.like(f"%@{DOMAIN}"))))
    for city in CITIES.values():
        if demo_email(city.key) in have:
            continue
        org = Organisation(name=city.name, kind="city", country=city.country,
                           population=city.population, created_at=now)
        session.add(User(email=demo_email(city.key), name=city.person, role=UserRole.APPLICANT,
                         password_hash=password_hash, confirmed_at=now, created_at=now,
                         organisation=org,
                         timezone=guess_timezone(city.country, now) or "Europe/Brussels"))
    partners = {p.name: p for p in session.scalars(select(PartnerCity).where(
        PartnerCity.name.in_([name for name, _, _ in PARTNERS])))}
    for name, key, person in PARTNERS:
        if demo_email(key) in have or name not in partners:
            continue
        city = partners[name]
        session.add(User(email=demo_email(key), name=person, role=UserRole.PARTNER,
                         password_hash=password_hash, confirmed_at=now, created_at=now,
                         partner_city=city,
                         timezone=guess_timezone(city.country, now) or "America/Sao_Paulo"))


def _story(h: History) -> None:
    """What happened, case by case, in days before now."""
    n = h.ago
    order = ("rotterdam", "aarhus", "frankfurt", "mannheim", "leuven", "genoa", "malmo",
             "sevilla", "umea", "torino", "ioannina", "madrid", "almada", "riga", "vilnius",
             "essen", "zaragoza", "kamatero", "santotirso", "parma")
    for i, key in enumerate(order):
        # The call was open from 730 to 655 days ago; most applied in its last month.
        h.apply(key, HISTORY_CALL, n(700 - i * 2, 8 + i % 8),
                n(675 - i, 9 + i % 7, 5 * i % 60))
    h.request_information("sevilla", n(652, 10), n(648, 11))
    for i, key in enumerate(order):
        if key in ("kamatero", "santotirso"):
            h.fire(n(647, 14), key, Purpose.DECLARE_INELIGIBLE, payload={
                "reason": "The municipality has fewer than 100,000 inhabitants and applied "
                          "alone, not as a group with a lead urban authority."})
        else:
            h.fire(n(646 - i % 6, 10 + i % 6), key, Purpose.DECLARE_ELIGIBLE)
            h.at(n(646 - i % 6, 11 + i % 6), h.assign, key)

    # The first wave, paired 21 months ago: completed, its plan in review, its plan sent back.
    starts = {key: h.pair(key, n(proposed, 10), accepted=(4, 6), signed=(10, 16))
              for key, proposed in (("rotterdam", 640), ("aarhus", 615), ("frankfurt", 605))}
    for key, start in starts.items():
        assert start is not None
        h.cooperate(key, start, {"work_plan:1": (-6, 4), "progress_report:1": (-3, 5),
                                 "progress_report:2": (-4, 6), "draft_lap:1": (-2, 9)})
    h.close("rotterdam", starts["rotterdam"], report=3, plan=6)
    h.review_plan(h.after(starts["rotterdam"], 18, 14), "rotterdam")
    h.close("aarhus", starts["aarhus"], report=8, plan=33)
    h.close("frankfurt", starts["frankfurt"], report=2, plan=5)
    h.review_plan(h.after(starts["frankfurt"], 18, 12), "frankfurt", back_for=28)

    # Parma withdrew while it waited; Zaragoza's first partner left before signing.
    h.fire(n(400, 11), "parma", Purpose.WITHDRAW, "applicant",
           {"reason": "The new city council changed its international priorities."})
    h.pair("zaragoza", n(330, 10), partner="Chihuahua", accepted=(3, 5))
    h.fire(n(290, 15), "zaragoza", Purpose.CANCEL_PAIRING, payload={
        "reason": "Chihuahua's new administration could not commit staff to the cooperation."})

    # The second wave, now in its 17th month: one pair on time, one behind.
    mannheim = h.pair("mannheim", n(535, 10), accepted=(5, 7), signed=(12, 15))
    leuven = h.pair("leuven", n(535, 11), accepted=(5, 7), signed=(12, 15))
    assert mannheim is not None and leuven is not None
    h.cooperate("mannheim", mannheim, {
        "work_plan:1": (-6, 5), "progress_report:1": (-3, 6), "progress_report:2": (-4, 7),
        "draft_lap:1": (-2, 10)})
    h.write_plan(n(20, 14), "mannheim", ("actions", "pilots", "indicators"))
    h.cooperate("leuven", leuven, {
        "work_plan:1": (12, 4), "progress_report:1": (-2, None), "progress_report:2": (-1, 6)})
    h.review(h.after(leuven, 6, 4), "leuven", "progress_report", 1, back_for=20)
    h.hand_in(h.after(leuven, 6, 19), "leuven", "progress_report", 1)
    h.review(h.after(leuven, 6, 25), "leuven", "progress_report", 1)

    # The third wave, now in its 10th month: on time, late, and a report overdue.
    third = {key: h.pair(key, n(318, 9 + i), accepted=(4, 6), signed=(9, 12))
             for i, key in enumerate(("genoa", "malmo", "sevilla"))}
    h.cooperate("genoa", third["genoa"], {"work_plan:1": (-8, 3), "progress_report:1": (-5, 4)})
    h.write_plan(n(35, 15), "genoa", ("summary", "context"))
    h.cooperate("malmo", third["malmo"], {"work_plan:1": (-3, 6), "progress_report:1": (9, 6)})
    h.cooperate("sevilla", third["sevilla"], {"work_plan:1": (-1, 5)})
    h.at(h.after(third["sevilla"], 6, 20), lambda: backoffice.add_comment(
        h.case_ids["sevilla"], h.coordinator(),
        "Called the Vitória team: the report waits for the new secretary's sign-off.",
        internal=True))

    # The fourth wave, now in its 3rd month: a work plan sent back, one overdue, one late.
    fourth = {key: h.pair(key, n(85, 9 + i), accepted=(3, 5), signed=(4, 6))
              for i, key in enumerate(("umea", "torino", "ioannina"))}
    h.cooperate("umea", fourth["umea"], {"work_plan:1": (-4, None)})
    h.review(h.after(fourth["umea"], 2, 2), "umea", "work_plan", back_for=23)
    h.cooperate("torino", fourth["torino"], {})
    h.cooperate("ioannina", fourth["ioannina"], {"work_plan:1": (11, None)})

    # Recent proposals: agreements waiting for signatures, pairings waiting for answers;
    # Vilnius's first partner declined.
    h.pair("madrid", n(21, 10), accepted=(3, 5), signed=(7, None))
    h.pair("almada", n(13, 10), accepted=(3, 6))
    h.pair("riga", n(5, 9), accepted=(None, 2))
    h.propose(n(40, 10), "vilnius", "Panaji-Goa")
    h.fire(n(34, 8), "vilnius", Purpose.DECLINE_PARTNER, "partner", {
        "reason": "Panaji's priorities this year are tourism services, not mobility."})
    h.propose(n(2, 10), "vilnius")

    # Today's open call: applications in review, one declared eligible, one still a draft.
    h.apply("bratislava", "open", n(15, 9), n(11, 14))
    h.fire(n(3, 10), "bratislava", Purpose.DECLARE_ELIGIBLE)
    h.apply("granada", "open", n(12, 9), n(6, 16))
    h.apply("murcia", "open", n(5, 10), n(2, 11))
    h.apply("karlsruhe", "open", n(4, 13), None)


def load_history(password_hash: str) -> Iterator[str]:
    """Play last year's call up to now (once: nothing when its call exists)."""
    now = utcnow()
    with db.transaction() as session:
        programme = session.scalar(select(Programme).where(Programme.slug == "iuc"))
        open_call = session.scalar(select(Call).where(Call.slug == "city-to-city-demo"))
        if programme is None or open_call is None or session.scalar(
                select(Call.id).where(Call.slug == HISTORY_CALL)):
            return
        call = Call(
            programme=programme, slug=HISTORY_CALL, kind=city_to_city.WORKFLOW.kind,
            title="City-to-city cooperation: first round",
            summary="EU cities of more than 100,000 inhabitants applied to cooperate for 18 "
                    "months with a city in Asia, Latin America and the Caribbean or North "
                    "America. The call is closed; its pairs are at work.",
            partner_regions=["Asia", LATIN_AMERICA, "North America"],
            opens_at=now - 730 * DAY, closes_at=now - 655 * DAY, created_at=now - 760 * DAY)
        session.add(call)
        _backdate(session, now - 760 * DAY)
        _accounts(session, password_hash, now - 760 * DAY)
        session.flush()
        h = History(now)
        h.call_ids = {HISTORY_CALL: call.id, "open": open_call.id}
    _story(h)
    previous = outbox.dispatcher
    # The history's mail is settled as it goes, not handed to the workers as it is written.
    outbox.set_dispatcher(lambda ids: None)
    use_clock(lambda: h.moment)
    try:
        with _unflushed_commits():
            h.play()
    finally:
        use_clock(None)
        outbox.set_dispatcher(previous)
        db.session.remove()
    tail = settle_mail(h.now - MAIL_TAIL)
    if tail:
        previous(tail)
    wf = get_workflow(city_to_city.WORKFLOW.kind)
    states = Counter(db.session.scalars(select(Case.state).where(
        Case.call_id == h.call_ids[HISTORY_CALL])))
    yield (f"last year's call ({HISTORY_CALL}) played up to now: "
           + ", ".join(f"{wf.state(name).staff_label.lower()} {states[name]}"
                       for name in (s.name for s in wf.states) if states[name]))
    yield (f"e-mail of the history: {len(tail)} of the last {MAIL_TAIL.days} days go to the "
           "mail sink; older ones are recorded as delivered when they were written")


def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@contextmanager
def _unflushed_commits() -> Iterator[None]:
    """On SQLite, commits that do not wait for the disk while the history is written (in WAL
    mode the database stays consistent; a power cut would lose the last ones, and the demo
    would be loaded again): two thousand short transactions are then quick."""
    if db.dialect != "sqlite":
        yield
        return
    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", _normal_sync)
    try:
        yield
    finally:
        db.session.remove()
        event.remove(db.engine, "connect", _normal_sync)
        db.engine.dispose()


def settle_mail(before: datetime) -> list[int]:
    """Record the mail written before ``before`` as delivered when it was written; the ids of
    the mail still to send."""
    with db.transaction() as session:
        pending = Notification.status == NotificationStatus.PENDING
        session.execute(update(Notification).where(
            pending, Notification.created_at < before).values(
            status=NotificationStatus.SENT, sent_at=Notification.created_at, attempts=1,
            next_attempt_at=None, requeue_after=None)
            .execution_options(synchronize_session=False))
        return list(session.scalars(select(Notification.id).where(pending)
                                    .order_by(Notification.id)))
