"""The scripted parties of a simulation: what each applicant will do, drawn from the seed, and
what the programme team, the partner contacts and the evaluators do in reply, all through the
app's own operations."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from simulation.clock import DAY, HOUR, START, Timeline
from webapp.db import db
from webapp.models import (
    Call,
    Case,
    Deliverable,
    Notification,
    NotificationPreference,
    Programme,
    User,
    UserRole,
)
from webapp.operations import (
    accounts,
    agreements,
    applications,
    backoffice,
    cooperation,
    lap,
    pairing,
    preferences,
)
from webapp.operations import cases as case_ops
from webapp.operations.accounts import hash_password
from workflows import city_to_city, get_workflow, region_to_region, vocabulary

#: every this many applicants, one is a region applying to the region-to-region call
REGION_EVERY = 5
PASSWORD = "simulated city password"  # noqa: S105 — accounts of a throw-away database
REGIONS = ("Asia", "Latin America and the Caribbean", "North America")
COUNTRIES = ("FR", "PT", "ES", "IT", "DE", "PL", "GR", "SE", "BE", "AT", "IE", "CZ")
#: the partner cities' countries, a few per world region of ``REGIONS``
PARTNER_COUNTRIES = (("CN", "JP", "IN"), ("AR", "BR", "MX"), ("US", "CA", "US"))
TOPICS = ("urban-mobility", "smart-city", "innovation", "circular-economy", "water",
          "energy-transition", "climate-adaptation", "air-quality", "urban-regeneration",
          "housing", "social-inclusion", "health", "jobs-skills", "tourism",
          "culture-heritage", "governance")
#: what the scripted parties write in each kind of plan (by PlanDefinition.key): the content,
#: and the row they add when the coordinator sends the plan back
PLANS: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "lap": ({
        "summary": {"summary": "Cleaner streets and shared data.", "priority": "Urban mobility"},
        "context": {"context": "A growing city.", "baseline": "12% of trips by bus."},
        "vision": {"vision": "Clean air for all.", "objectives": "Double bus trips by 2035."},
        "stakeholders": {"rows": [
            {"member": "Ana", "organisation": "Transport office",
             "sector": "public_administration"},
            {"member": "Luc", "organisation": "University", "sector": "academia"},
            {"member": "Marc", "organisation": "Chamber of commerce", "sector": "business"},
            {"member": "", "organisation": "Regional transport authority",
             "sector": "other_government"},
            {"member": "Inès", "organisation": "Residents' association",
             "sector": "civil_society"}]},
        "actions": {"rows": [{"title": "Bus lanes", "objective": "Faster buses",
                              "lead": "Transport office", "cost": 400000,
                              "funding_source": "ERDF"}]},
        "pilots": {"rows": [{"title": "Electric line 4", "timeframe": "Twelve months",
                             "budget": 250000, "funding_sources": "City budget",
                             "financing_model": "Leasing",
                             "expected_results": "One electric line"}]},
        "indicators": {"rows": [{"name": "Bus share", "baseline": "12%", "target": "24%",
                                 "source": "Survey", "frequency": "Yearly"}]},
        "alignment": {"sdgs": "SDG 11.2 sustainable transport.", "sdg_topics": ["sdg-11"],
                      "new_urban_agenda": "Sustainable urban mobility.",
                      "urban_agenda_eu": "The Urban Mobility partnership.",
                      "sendai": "Buses that keep running in floods.",
                      "paris": "Fewer emissions from transport."},
        "learned": {"learned": "Our partner's bus rapid transit planning."},
    }, "pilots", {"title": "Cycling lanes", "timeframe": "Six months", "budget": 90000,
                  "funding_sources": "City budget", "financing_model": "Public works",
                  "expected_results": "Ten kilometres of lanes"}),
    "roadmap": ({
        "summary": {"summary": "Green hydrogen for both regions' industry.",
                    "priority": "Green hydrogen"},
        "specialisation": {"eu_priorities": "Clean energy and smart production (RIS3).",
                           "partner_priorities": "Renewable energy and the bioeconomy.",
                           "shared": "Hydrogen from renewables."},
        "projects": {"rows": [{"title": "Hydrogen test bed", "objective": "A shared test bed",
                               "partners": "Two universities and an energy cluster"}]},
        "ecosystem": {"rows": [
            {"organisation": "Regional university", "sector": "research"},
            {"organisation": "Energy company", "sector": "business"},
            {"organisation": "Energy cluster", "sector": "cluster"}]},
        "opportunities": {"rows": [{"title": "Electrolysers",
                                    "description": "Suppliers on each side."}]},
        "funding": {"funding_plan": "Horizon Europe and private investment."},
        "governance": {"governance": "A joint steering group meets each quarter."},
        "indicators": {"rows": [{"name": "Joint projects", "baseline": "0", "target": "2"}]},
    }, "projects", {"title": "Skills exchange", "objective": "Train technicians",
                    "partners": "Two vocational schools"}),
}
#: the call kinds of the simulated programme
CITY_CALL, REGION_CALL = city_to_city.WORKFLOW.kind, region_to_region.WORKFLOW.kind



@dataclass
class Script:
    """What one applicant will do, drawn at the start from the seed."""

    index: int
    kind: str  # the call's workflow: city-to-city or region-to-region
    region: str
    registers_at: datetime
    submits_late: bool
    withdraws_in: str | None  # draft, awaiting_pairing, cooperation_active or None
    information_requested: bool
    declines_first: bool
    late: set[str] = field(default_factory=set)  # deliverable keys handed in late
    revised: set[str] = field(default_factory=set)  # deliverable keys sent back once
    plan_revised: bool = False
    extended: bool = False  # misses the closing and is given an extension
    case_id: int | None = None
    user_id: int | None = None



class Simulation(Timeline):
    """The calls of one programme, ``cases`` applicants, ``months`` of virtual time."""

    def __init__(self, cases: int, months: int, seed: int):
        super().__init__(months, seed)
        self.cases = cases
        self.scripts: list[Script] = []
        self.call_ids: dict[str, int] = {}
        self.coordinator_id = 0
        #: the second evaluator of region applications
        self.evaluator_id = 0
        self.closes_at = START + 21 * DAY + 8 * HOUR

    def who(self, args: tuple[Any, ...]) -> str:
        return next((f" of applicant {a.index + 1}" for a in args if isinstance(a, Script)), "")

    # -- people and the scripts ----------------------------------------------------------

    @staticmethod
    def person(user_id: int):
        return db.session.get(User, user_id)

    def coordinator(self):
        return self.person(self.coordinator_id)

    def case(self, script: Script):
        db.session.expire_all()
        return db.session.get(Case, script.case_id)

    def partner(self, script: Script):
        case = self.case(script)
        return db.session.scalar(select(User).where(
            User.partner_city_id == case.partner_city_id, User.role == UserRole.PARTNER)
            .order_by(User.id).limit(1))

    def token_for(self, user_id: int, template: str) -> str:
        """The link token of the last mail of ``template`` to a person, as they would click."""
        context = db.session.scalar(select(Notification.context).where(
            Notification.user_id == user_id, Notification.template == template)
            .order_by(Notification.id.desc()).limit(1))
        return context["token"]

    def draw_scripts(self) -> None:
        rng = self.rng
        withdrawing = set(rng.sample(range(self.cases), max(1, round(self.cases * 0.06))))
        stages = itertools.cycle(("draft", "awaiting_pairing", "cooperation_active"))
        for i in range(self.cases):
            regional = i % REGION_EVERY == REGION_EVERY - 1
            script = Script(
                index=i, kind=REGION_CALL if regional else CITY_CALL,
                region=REGIONS[1] if regional else REGIONS[i % len(REGIONS)],
                registers_at=self.working_time(START + rng.uniform(0, 14) * DAY),
                submits_late=rng.random() < 0.2,
                withdraws_in=next(stages) if i in withdrawing else None,
                information_requested=rng.random() < 0.15,
                declines_first=rng.random() < 0.12,
                plan_revised=rng.random() < 0.25)
            for key in ("work_plan:1", "progress_report:1", "progress_report:2", "draft_lap:1"):
                if rng.random() < 0.2:
                    script.late.add(key)
            if rng.random() < 0.1:
                script.late.add("progress_report:3")  # a few days only: closing waits for it
            for key in ("work_plan:1", "progress_report:1", "progress_report:2"):
                if rng.random() < 0.2:
                    script.revised.add(key)
            self.scripts.append(script)
        # The first city that sees its application through is the one that misses the closing.
        late = next((s for s in self.scripts if s.kind == CITY_CALL and not s.withdraws_in),
                    None)
        if late is not None:
            late.extended = True

    # -- the programme team's set-up -------------------------------------------------------

    def set_up(self) -> None:
        kinds = Counter(script.kind for script in self.scripts)
        with db.transaction() as session:
            programme = Programme(slug="sim", name="Simulated programme", targets={
                vocabulary(kind).programme_target: n for kind, n in kinds.items()})
            city = Call(programme=programme, slug="simulated-city-to-city",
                        kind=CITY_CALL, title="Simulated city-to-city call",
                        partner_regions=list(REGIONS), opens_at=START,
                        closes_at=self.closes_at)
            region = Call(programme=programme, slug="simulated-region-to-region",
                          kind=REGION_CALL, title="Simulated region-to-region call",
                          partner_regions=[REGIONS[1]], allowed_org_types=["region"],
                          population_threshold=0, cooperation_months=12, opens_at=START,
                          closes_at=self.closes_at)
            coordinator = User(email="coordinator@simulation.citypair", name="Sam Coordinator",
                               role=UserRole.COORDINATOR, password_hash=hash_password(PASSWORD),
                               confirmed_at=START)
            evaluator = User(email="evaluator@simulation.citypair", name="Eva Evaluator",
                             role=UserRole.COORDINATOR, password_hash=coordinator.password_hash,
                             confirmed_at=START)
            session.add_all([programme, city, region, coordinator, evaluator])
            session.flush()
            self.call_ids = {city.kind: city.id, region.kind: region.id}
            self.coordinator_id, self.evaluator_id = coordinator.id, evaluator.id
        spare = max(6, self.cases // 3)
        lines = ["name,country,region,population,topics,challenge_statement,contact_name,"
                 "contact_email,kind"]
        for i in range(self.cases + spare):
            topics = ";".join(self.rng.sample(TOPICS, 3))
            region = i % len(REGIONS)
            country = PARTNER_COUNTRIES[region][i // len(REGIONS) % 3]
            lines.append(f"Partner City {i + 1},{country},{REGIONS[region]},"
                         f"{self.rng.randint(200, 5000) * 1000},{topics},"
                         f"Challenges of partner city {i + 1},Contact {i + 1},"
                         f"contact{i + 1}@partner{i + 1}.example,city")
        # The region call pairs with partner regions only.
        for i in range(self.cases // REGION_EVERY + spare):
            topics = ";".join(self.rng.sample(TOPICS, 3))
            lines.append(f"Partner Region {i + 1},{PARTNER_COUNTRIES[1][i % 3]},{REGIONS[1]},"
                         f"{self.rng.randint(1000, 9000) * 1000},{topics},"
                         f"Innovation priorities of partner region {i + 1},Contact R{i + 1},"
                         f"contact{i + 1}@region{i + 1}.example,region")
        pairing.import_partner_cities("\n".join(lines))
        for script in self.scripts:
            self.at(script.registers_at, self.register, script)
        monday = START + 7 * DAY
        while monday < self.end and monday < START + 150 * DAY:
            for offset in (0, 3):  # the coordinator pairs on Mondays and Thursdays
                self.at(monday + offset * DAY + 2 * HOUR, self.pair_waiting_cases)
            monday += 7 * DAY

    # -- applying --------------------------------------------------------------------------

    def register(self, script: Script) -> None:
        user = accounts.register(email=f"city{script.index + 1}@applicant.example",
                                 password=PASSWORD, name=f"Officer {script.index + 1}",
                                 organisation_name=self.organisation_name(script),
                                 organisation_kind=self.organisation_kind(script),
                                 country=COUNTRIES[script.index % len(COUNTRIES)])
        script.user_id = user.id
        self.deliver()
        accounts.confirm_email(self.token_for(user.id, "confirm_email"))
        if script.index % 4 == 1:
            # Some would rather read the optional news once a day.
            preferences.set_preference(user.id, NotificationPreference.DIGEST)
        case = applications.start_application(self.person(user.id),
                                              self.call_ids[script.kind])
        script.case_id = case.id
        if script.withdraws_in == "draft":
            self.later(2, 5, self.withdraw, script)
        elif script.extended:
            self.at(self.closes_at + HOUR, self.extend, script)
        elif script.submits_late:
            # Past the reminders a week and a day before the call closes.
            self.at(self.closes_at - 6 * HOUR, self.apply, script)
        else:
            self.later(1, 4, self.apply, script)

    @staticmethod
    def organisation_kind(script: Script) -> str:
        return vocabulary(script.kind).applicant_types[0]

    @staticmethod
    def organisation_name(script: Script) -> str:
        return f"{script.kind.split('-')[0].title()} {script.index + 1}"

    def apply(self, script: Script) -> None:
        user = self.person(script.user_id)
        i = script.index
        topics = self.rng.sample(TOPICS, 3)
        for section, data in (
            ("organisation", {"name": self.organisation_name(script),
                              "kind": self.organisation_kind(script),
                              "country": COUNTRIES[i % len(COUNTRIES)],
                              "population": self.rng.randint(150, 900) * 1000}),
            ("contact", {"contact_name": user.name, "contact_email": user.email}),
            ("topics", {"topics": topics,
                        "challenge_statement": "We want to work on " + ", ".join(topics)
                                               + " with a city that faces the same questions."}),
            ("partnership", {"partner_region": script.region,
                             "stakeholders": "City departments, a university, businesses"}),
            ("resources", {"resources_committed": "Two staff members at 30% for 18 months."}),
            ("commitments", {c.key: True for c in vocabulary(script.kind).commitments}),
        ):
            applications.save_section(script.case_id, self.person(script.user_id), section,
                                      data)
        case_ops.fire(script.case_id, "submit", self.person(script.user_id))
        self.later(1, 4, self.check_eligibility, script)

    def extend(self, script: Script) -> None:
        """The call has closed on an unfinished draft: the coordinator gives a day more, and
        the city submits that afternoon."""
        backoffice.extend_case(script.case_id, self.coordinator(), self.closes_at + DAY,
                               "Their council approved the application late.")
        self.at(self.closes_at + 6 * HOUR, self.apply, script)

    def withdraw(self, script: Script) -> None:
        case_ops.fire(script.case_id, "withdraw", self.person(script.user_id),
                      {"reason": "Our council changed its priorities."})

    def check_eligibility(self, script: Script) -> None:
        if script.information_requested:
            script.information_requested = False
            case_ops.fire(script.case_id, "request_information", self.coordinator(), {
                "message": "Please send the council's decision to take part.",
                "response_deadline": self.clock.now + 7 * DAY})
            # After the reminder three days before the deadline.
            self.later(4.5, 6, self.answer_information, script)
            return
        case_ops.fire(script.case_id, "declare_eligible", self.coordinator())
        if self.case(script).state == "scoring":
            self.later(1, 4, self.score, script)
        if script.withdraws_in == "awaiting_pairing":
            self.later(1, 3, self.withdraw, script)

    def answer_information(self, script: Script) -> None:
        case_ops.fire(script.case_id, "provide_information", self.person(script.user_id),
                      {"answer": "The council's decision is attached."})
        self.later(1, 3, self.check_eligibility, script)

    def score(self, script: Script) -> None:
        """The region-to-region assessment: two evaluators score every criterion on their
        own, then the application is selected on their mean scores."""
        if self.case(script).state != "scoring":
            return
        for evaluator in (self.coordinator_id, self.evaluator_id):
            cooperation.save_scores(script.case_id, self.person(evaluator), {
                "smart_specialisation": (self.rng.randint(3, 5), "A clear RIS3 priority."),
                "joint_projects": (self.rng.randint(3, 5), "Two project ideas."),
                "business_opportunities": (self.rng.randint(3, 4), "A cluster on each side.")})
        case_ops.fire(script.case_id, "select", self.coordinator())

    # -- pairing ---------------------------------------------------------------------------

    def pair_waiting_cases(self) -> None:
        """The draft board of each call for most cases; one at a time is paired from its own
        suggestions."""
        for call_id in self.call_ids.values():
            self.pair_call(call_id)

    def pair_call(self, call_id: int) -> None:
        coordinator = self.coordinator()
        board = pairing.board_for(call_id, coordinator)
        # Plain values: delivering mail between steps ends the session the rows belong to.
        rows = [(r.case.id, r.optimum_id, r.case.version) for r in board.rows
                if r.waiting and r.optimum_id]
        # A case the optimum leaves out (it shares nothing with any free partner, or declined
        # the one it did) gets the best partner still free, as a coordinator would choose.
        left_out = [(r.case.id, r.case.version,
                     [c.partner.id for c in r.candidates if not c.ruled_out])
                    for r in board.rows if r.waiting and not r.optimum_id]
        taken: set[int] = set()
        if rows:
            (case_id, _, version), rows = rows[0], rows[1:]
            suggestions = pairing.suggestions_for(case_id, coordinator).suggestions
            if suggestions:
                best = next((s for s in suggestions if not s.ruled_out),
                            suggestions[0]).partner.id
                pairing.propose(case_id, self.coordinator(), best, expected_version=version)
                taken.add(best)
                self.proposed(case_id)
        choices = [pairing.BoardChoice(case_id, partner_id, version)
                   for case_id, partner_id, version in rows if partner_id not in taken]
        taken |= {c.partner_city_id for c in choices}
        for case_id, version, candidates in left_out:
            free = [p for p in candidates if p not in taken]
            if free:
                choices.append(pairing.BoardChoice(case_id, free[0], version))
                taken.add(free[0])
        if choices:
            pairing.propose_board(call_id, self.coordinator(), choices)
            for choice in choices:
                self.proposed(choice.case_id)

    def script_of(self, case_id: int) -> Script:
        return next(s for s in self.scripts if s.case_id == case_id)

    def proposed(self, case_id: int) -> None:
        script = self.script_of(case_id)
        case = self.case(script)
        for contact in pairing.contacts_of(case.partner_city):
            if contact.account is None:
                # The contact gets an account and an invitation; acting through the operations,
                # the simulation needs no password for them.
                pairing.invite_partner_contact(case.id, self.coordinator(), contact.email)
        self.later(0.5, 4, self.applicant_responds, script)
        # Some partners answer only after the reminder five days before their deadline.
        self.later(1, 7.5, self.partner_responds, script)

    def applicant_responds(self, script: Script) -> None:
        if self.case(script).state == "pairing_proposed":
            case_ops.fire(script.case_id, "accept_pairing", self.person(script.user_id))

    def partner_responds(self, script: Script) -> None:
        case = self.case(script)
        if case.state != "pairing_proposed":
            return
        if script.declines_first:
            script.declines_first = False
            case_ops.fire(script.case_id, "decline_pairing", self.partner(script),
                          {"reason": "Our priorities do not match this city's."})
            return
        case_ops.fire(script.case_id, "accept_pairing", self.partner(script))
        self.after_acceptance(script)

    def after_acceptance(self, script: Script) -> None:
        state = self.case(script).state
        if state == "pairing_proposed":
            # The applicant has not accepted yet: look again tomorrow.
            self.later(1, 1.5, self.after_acceptance, script)
            return
        if state != "agreement_pending":
            return
        self.later(0.5, 6, self.sign, script, "applicant")
        self.later(0.5, 9, self.sign, script, "partner")

    def sign(self, script: Script, party: str) -> None:
        person = self.person(script.user_id) if party == "applicant" else self.partner(script)
        current = agreements.current(db.session, script.case_id)
        signed = agreements.sign_typed(script.case_id, person,
                                       agreement_hash=current.content_hash,
                                       full_name=person.name, title="Mayor", consent=True)
        if signed.target == "cooperation_active" and signed.moved:
            self.plan_cooperation(script)

    # -- the cooperation -------------------------------------------------------------------

    def plan_cooperation(self, script: Script) -> None:
        case = self.case(script)
        for d in cooperation.deliverables(db.session, case.id):
            key = f"{d.kind}:{d.sequence}"
            if d.kind == "progress_report" and key in script.late and d.sequence == 3:
                when = d.due_at + self.rng.uniform(1, 4) * DAY
            elif key in script.late:
                when = d.due_at + self.rng.uniform(2, 25) * DAY
            elif d.kind in ("final_lap", "follow_up_report"):
                continue  # the final plan goes through the workflow after closing
            elif d.kind == "final_report":
                # It opens when the period ends; most parties report within days.
                when = d.opens_at + self.rng.uniform(0.5, 6) * DAY
            else:
                when = d.due_at - self.rng.uniform(0.5, min(20, (d.due_at - d.opens_at).days)) \
                    * DAY
            self.at(self.working_time(when), self.hand_in, script, d.id)
        length = case.cooperation_ends_at - case.cooperation_start

        def within(low: float, high: float) -> datetime:
            return self.working_time(case.cooperation_start
                                     + self.rng.uniform(low, high) * length)

        for _ in range(self.rng.randint(2, 4)):
            self.at(within(0.04, 0.9), self.log_activity, script)
        # The plan is written over the months before the draft is due, then completed.
        content = self.plan_of(script)[0]
        self.at(within(0.3, 0.55), self.write_plan, script, tuple(content)[:3])
        self.at(within(0.75, 0.92), self.write_plan, script, tuple(content))
        if script.withdraws_in == "cooperation_active":
            self.later(120, 160, self.withdraw, script)

    def live(self, script: Script) -> bool:
        return self.case(script).state not in ("withdrawn", "terminated", "ineligible")

    def log_activity(self, script: Script) -> None:
        if not self.live(script):
            return
        today = self.clock.now.date()
        kind = self.rng.choice(list(cooperation.ACTIVITY_TYPES))
        person = self.person(script.user_id) if self.rng.random() < 0.5 else self.partner(script)
        cooperation.log_activity(script.case_id, person, {
            "type": kind, "title": f"{cooperation.ACTIVITY_TYPES[kind]} with the partner",
            "starts_on": today, "ends_on": today + timedelta(days=self.rng.randint(0, 4)),
            "direction": self.rng.choice(list(cooperation.DIRECTIONS)),
            "participants": self.rng.randint(3, 25)})

    @staticmethod
    def plan_of(script: Script) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """What the script writes in its call's kind of plan."""
        return PLANS[vocabulary(script.kind).plan.key]

    def write_plan(self, script: Script, keys: tuple[str, ...]) -> None:
        if not self.live(script):
            return
        content = self.plan_of(script)[0]
        for key in keys:
            working = lap.get_plan(db.session, script.case_id)
            revision = (working.revisions or {}).get(key, 0) if working else 0
            lap.save_section(script.case_id, self.person(script.user_id), key, content[key],
                             expected_revision=revision)
            db.session.expire_all()

    def hand_in(self, script: Script, deliverable_id: int) -> None:
        if not self.live(script):
            return
        d = db.session.get(Deliverable, deliverable_id)
        if d.status in ("submitted", "accepted"):
            return
        writer = self.person(script.user_id) if self.rng.random() < 0.6 else self.partner(script)
        if d.kind == "draft_lap":
            if lap.get_plan(db.session, script.case_id) is None:
                self.write_plan(script, ("summary",))
            lap.send_draft(script.case_id, self.person(script.user_id))
        elif d.kind in ("progress_report", "final_report"):
            report = cooperation.report_for(db.session, d)
            start, end = cooperation.report_period(db.session, self.case(script), d)
            cooperation.save_report(script.case_id, d.id, writer, {
                "period_start": start, "period_end": end,
                "achievements": "Two study tours and a joint workshop.",
                "difficulties": "Visas took long.", "next_steps": "A pilot project.",
                "lap_progress": "The stakeholder group met twice.", "indicators": "",
                "activity_ids": []}, expected_version=report.version if report else 0,
                submit=True)
            if d.kind == "final_report":
                self.turn_to_the_plan(script)
        else:
            cooperation.submit_deliverable(script.case_id, d.id, writer,
                                           note="Our joint work plan.")
        self.later(2, 9, self.review, script, deliverable_id)

    def review(self, script: Script, deliverable_id: int) -> None:
        if not self.live(script):
            return
        d = db.session.get(Deliverable, deliverable_id)
        if d.status != "submitted":
            return
        key = f"{d.kind}:{d.sequence}"
        if key in script.revised:
            script.revised.discard(key)
            resubmit_by = self.clock.now + 14 * DAY
            cooperation.review_deliverable(script.case_id, d.id, self.coordinator(),
                                           accept=False, comments="Add the indicators.",
                                           resubmit_by=resubmit_by)
            # Most revise in time; some after the reminder the day after the new date.
            self.later(3, 16, self.hand_in, script, deliverable_id)
            return
        cooperation.review_deliverable(script.case_id, d.id, self.coordinator(), accept=True)

    # -- the Local Action Plan -------------------------------------------------------------

    @staticmethod
    def plan_steps(script: Script):
        return lap.steps(get_workflow(script.kind))

    def turn_to_the_plan(self, script: Script) -> None:
        """With the final report in, the parties submit their plan: most the same evening
        (both open when the period ends), some a few days later."""
        if self.rng.random() < 0.7 and self.clock.now.hour < 19:
            self.at(self.clock.now.replace(hour=self.rng.randint(19, 21),
                                           minute=self.rng.randint(0, 59)),
                    self.submit_plan, script)
        else:
            self.later(1, 3, self.submit_plan, script)

    def submit_plan(self, script: Script) -> None:
        case = self.case(script)
        submit = self.plan_steps(script).submit
        if case.state not in submit.sources:
            return
        person = self.person(script.user_id)
        option = next(o for o in case_ops.options(case, person) if o.transition == submit)
        if not option.allowed:
            # The plan's page says what is missing (a late progress report): come back later.
            self.later(1, 3, self.submit_plan, script)
            return
        lap.submit(script.case_id, person)
        self.later(2, 6, self.review_plan, script)

    def review_plan(self, script: Script) -> None:
        if self.case(script).state != self.plan_steps(script).submit.target:
            return
        if script.plan_revised:
            script.plan_revised = False
            lap.review(script.case_id, self.coordinator(), approve=False,
                       comments="Add a pilot on cycling.",
                       response_deadline=self.clock.now + 14 * DAY)
            self.later(2, 7, self.revise_plan, script)
            return
        lap.review(script.case_id, self.coordinator(), approve=True)

    def revise_plan(self, script: Script) -> None:
        working = lap.get_plan(db.session, script.case_id)
        content, key, row = self.plan_of(script)
        lap.save_section(script.case_id, self.person(script.user_id), key,
                         {"rows": [*content[key]["rows"], row]},
                         expected_revision=(working.revisions or {}).get(key, 0))
        self.submit_plan(script)
