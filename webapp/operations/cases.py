"""Firing transitions: the one place that changes a case's state.

``fire`` loads the case, builds the snapshot the engine judges, asks the engine for the plan and
applies it in one transaction: the new state, the audit event, the deadlines and reminders the
new state starts (and ends those of the old one), the notifications, and the state's hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from webapp.access import actor_for, can_view_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, Refused
from webapp.forms import NoScript
from webapp.mail import outbox
from webapp.models import (
    AuditEvent,
    Call,
    CallExtension,
    Case,
    CasePartner,
    Deadline,
    DeadlineStatus,
    EligibilityResult,
    PartnerCity,
    PartyFact,
    Reminder,
    User,
    partner_party,
    party_partner_id,
)
from webapp.operations import audit, tallies
from webapp.operations.applications import application_facts, section_choices
from webapp.operations.wiring import wiring
from webapp.safety import MAX_ID
from workflows import eligibility, get_workflow, vocabularies, vocabulary
from workflows.engine import (
    Actor,
    Anchor,
    CaseFacts,
    DeadlineSpec,
    Effects,
    Field,
    Hook,
    Option,
    Purpose,
    StateKind,
    Transition,
    TransitionRefused,
    Workflow,
    deadline_due,
)
from workflows.refusal import Refusal, to_data
from workflows.vocabulary import referrals


def run_hook(session: Session, case: Case, hook: Hook, payload: Mapping[str, Any],
             now: datetime) -> None:
    """Run what the wiring implements for a hook a definition names."""
    for fn in wiring().hooks[hook]:
        fn(session, case, payload, now)


@dataclass(frozen=True)
class Fired:
    """The outcome of firing: where the case is now and whether it moved."""

    case_id: int
    transition: str
    source: str
    target: str
    moved: bool
    version: int


# Statements run on every transition, built once: building one costs more than running it.
_EXTENSION = select(CallExtension.until).where(
    CallExtension.call_id == bindparam("call_id"),
    CallExtension.organisation_id == bindparam("organisation_id"))
_LIVE_SIBLINGS = select(Case.reference).where(
    Case.call_id == bindparam("call_id"), Case.organisation_id == bindparam("organisation_id"),
    Case.id != bindparam("case_id"), Case.partner_region == bindparam("partner_region"),
    Case.state.in_(bindparam("states", expanding=True)))


_WITH_PARTNERS = joinedload(Case.partner_links)


def extension_for(session: Session, case: Case) -> datetime | None:
    return session.scalar(_EXTENSION, {"call_id": case.call_id,
                                       "organisation_id": case.organisation_id})


class _CaseSnapshot(CaseFacts):
    """The case as its guards see it, each fact read from the case the first time a guard
    looks at it: a transition whose guards judge only the payload costs no query here."""

    def __init__(self, session: Session, case: Case, now: datetime):
        self._session, self._case = session, case
        self.state = case.state
        self.now = now
        self.parties = case.parties

    @cached_property
    def call_opens_at(self) -> datetime | None:  # type: ignore[override]
        return self._case.call.opens_at

    @cached_property
    def call_closes_at(self) -> datetime | None:  # type: ignore[override]
        return self._case.call.closes_at

    @cached_property
    def extension_until(self) -> datetime | None:  # type: ignore[override]
        return extension_for(self._session, self._case)

    @cached_property
    def _application(self) -> tuple[list[str], list[Any]]:
        return application_facts(self._case)

    @cached_property
    def missing_sections(self) -> list[str]:  # type: ignore[override]
        return self._application[0]

    @cached_property
    def missing_commitments(self) -> list[Any]:  # type: ignore[override]
        return self._application[1]

    @cached_property
    def failed_rules(self) -> list[str]:  # type: ignore[override]
        return [r.title for r in self._case.eligibility_results if r.verdict == "fail"]

    @cached_property
    def party_facts(self) -> dict[str, set[str]]:  # type: ignore[override]
        done: dict[str, set[str]] = {}
        for pf in self._case.party_facts:
            done.setdefault(pf.party, set()).add(pf.fact)
        return done

    @cached_property
    def extra(self) -> dict[str, Any]:  # type: ignore[override]
        case = self._case
        words = vocabulary(case.workflow)
        extra: dict[str, Any] = {
            "call_partner_regions": list(case.call.partner_regions or []),
            "cooperation_ends_at": case.cooperation_ends_at,
            "partner_kind": words.partner_kind,
            "partner_noun": words.partner_noun,
        }
        # Only what a guard ahead reads is read (a report, a plan, the scores).
        needed = frozenset(get_workflow(case.workflow).facts_needed(case.state))
        for provider in wiring().facts:
            if provider.provides & needed:
                extra.update(provider.read(self._session, case, self.now, needed))
        return extra


def case_facts(session: Session, case: Case, now: datetime) -> CaseFacts:
    """The snapshot of ``case`` the engine's guards judge; judge it before changing the case,
    as each fact is read when a guard first asks for it."""
    return _CaseSnapshot(session, case, now)



def options(case: Case, user: User | None, now: datetime | None = None) -> list[Option]:
    """The transitions ``user`` could fire on ``case`` now, each allowed or with reasons."""
    session = db.session()
    wf = get_workflow(case.workflow)
    facts = case_facts(session, case, now or utcnow())
    return wf.options(facts, actor_for(user))


def released_states(workflow: str) -> list[str]:
    """States whose case no longer holds its partner city (withdrawn, terminated, ...)."""
    return get_workflow(workflow).states_of_kind(StateKind.CLOSED)


# -- the one parser of what a request gives a transition ---------------------------------

MAX_TEXT = 4000


class PayloadError(Exception):
    """Some values of a payload are not valid; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid payload")
        self.errors = errors

    @property
    def messages(self) -> list[str]:
        return [m for found in self.errors.values() for m in found]


def parse_payload(t: Transition, raw: Mapping[str, Any], *, zone: str | None = None,
                  strict: bool = False) -> dict[str, Any]:
    """What a request (the portal, the back office, the API) may give for firing ``t``: only
    the transition's form and screen fields, typed and checked. Fields the operations layer
    records and anything undeclared never pass; ``strict`` (the API) refuses them by name,
    otherwise (a page's form, which carries its own token and version) they are left out,
    and ids may come as digits.

    Times without an offset are read in ``zone`` (a form's local time); without a zone they
    are refused. Empty fields are left for the engine, which names every required one.
    Raises PayloadError.
    """
    declared = {f.name: f for f in t.request_fields}
    errors: dict[str, list[str]] = {}
    payload: dict[str, Any] = {}
    for key in raw:
        if key not in declared:
            if strict:
                errors[key] = [_("Unknown field for %(transition)s; it takes: %(fields)s.",
                              transition=t.name,
                              fields=", ".join(sorted(declared)) or "-")]
            continue
        f = declared[key]
        getlist = getattr(raw, "getlist", None)
        value = getlist(key) if f.type == "choices" and getlist else raw[key]
        try:
            payload[key] = _field(f, value, zone, strict)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise PayloadError(errors)
    return payload


def _field(f: Field, value: Any, zone: str | None, strict: bool) -> Any:
    if value is None or value == "":
        return None
    if f.type == "datetime":
        return _datetime(value, zone)
    if f.type == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError(_("Give a date as text, e.g. 2026-12-01."))
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(_("Give a date like 2026-12-01.")) from None
    if f.type == "id":
        return _id(value, strict)
    if f.type == "choices":
        return _choices(f, value)
    if not isinstance(value, str):
        raise ValueError(_("Give this as text."))
    if len(value) > MAX_TEXT:
        raise ValueError(_("Keep this under %(n)s characters.", n=MAX_TEXT))
    if "\x00" in value:
        raise ValueError(_("Remove the NUL character from this text."))
    if "<" in value and ">" in value:
        raise ValueError(str(NoScript.message))
    return value.strip() or None


def _datetime(value: Any, zone: str | None) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(_("Give a time as ISO 8601, e.g. "
                               "2026-12-01T17:00:00+01:00.")) from None
    else:
        raise ValueError(_("Give a time as ISO 8601 text, e.g. 2026-12-01T17:00:00+01:00."))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if zone is None:
            raise ValueError(_("Give the time with its offset from UTC, e.g. "
                               "2026-12-01T17:00:00+01:00 or 2026-12-01T16:00:00Z."))
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed.astimezone(UTC)


def _id(value: Any, strict: bool) -> int:
    # A form sends digits as text; JSON has numbers for that.
    if not strict and isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValueError(_("Give the id as a positive whole number."))
    return value


def _choices(f: Field, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(_("Give a list of names."))
    # On any case here: the transition checks the names against the case's own.
    offered = [key for key, _label in field_choices(f.name)]
    unknown = [v for v in value if v not in offered]
    if unknown:
        raise ValueError(_("Unknown: %(unknown)s. Name them among: %(names)s.",
                           unknown=", ".join(unknown), names=", ".join(offered)))
    return list(dict.fromkeys(value))


def declared_payload(workflow: Workflow, transition: str,
                     payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with only the fields ``transition`` declares (every source): what the
    audit trail keeps and the notifications read."""
    if not workflow.has_transition(transition):
        return {}
    names = {f.name for f in workflow.transition(transition).fields}
    return {k: v for k, v in payload.items() if k in names}


def _enrich_payload(session: Session, case: Case, name: str,
                    payload: dict[str, Any]) -> dict[str, Any]:
    """Resolve ids in the payload into what guards judge (a partner city's region, ...)."""
    partner_id = payload.get("partner_city_id")
    if partner_id:
        partner = session.get(PartnerCity, int(partner_id))
        if partner is None:
            raise Refused("That partner city does not exist.")
        payload["partner"] = {"id": partner.id, "name": partner.name, "region": partner.region,
                              "kind": partner.kind,
                              "busy": partner_busy(session, case, partner.id),
                              "on_case": partner.id in {link.partner_city_id
                                                        for link in case.partner_links}}
        # A transition that takes one partner out names it as a party.
        payload["party"] = partner_party(partner.id)
    return payload


def partner_busy(session: Session, case: Case, partner_city_id: int) -> bool:
    """Whether the partner is set on another case of the call that still holds its partners
    (a withdrawn, ineligible or terminated case releases every one of them)."""
    return session.scalar(
        select(CasePartner.id).join(Case, Case.id == CasePartner.case_id).where(
            Case.call_id == case.call_id, CasePartner.partner_city_id == partner_city_id,
            Case.id != case.id, Case.state.not_in(released_states(case.workflow))).limit(1)
    ) is not None


def fire(
    case_id: int,
    transition: str | Purpose,
    user: User | None,
    payload: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None = None,
    source_address: str = "",
    now: datetime | None = None,
) -> Fired:
    """Fire ``transition`` (its name, or its purpose in the case's definition) on a case as
    ``user`` (None: the system), in one transaction.

    Raises NotFound, Forbidden (not this person's case), Conflict (the case changed since
    ``expected_version`` or concurrently) and Refused (a guard or a missing field, with every
    reason).
    """
    now = now or utcnow()
    try:
        with db.transaction() as session:
            # Its partners come with it: every transition asks for the case's parties.
            case = session.get(Case, case_id, options=[_WITH_PARTNERS])
            if case is None:
                raise NotFound("There is no such case.")
            if user is not None and not can_view_case(user, case):
                raise Forbidden("This case is not yours to act on.")
            if expected_version is not None and case.version != expected_version:
                raise Conflict(
                    "Someone else changed this case while you were looking at it. "
                    "The page now shows its current state; please check and try again.")
            result = apply(session, case, transition, user, dict(payload or {}),
                           source_address=source_address, now=now)
            session.flush()
            return Fired(case.id, result.transition.name, result.source, result.target,
                         result.moved, case.version)
    except StaleDataError as exc:
        raise Conflict("Someone else changed this case at the same moment. "
                       "Please reload it and try again.") from exc


def apply(
    session: Session,
    case: Case,
    transition: str | Purpose,
    user: User | None,
    payload: dict[str, Any],
    *,
    source_address: str = "",
    now: datetime,
) -> Effects:
    """Apply one transition inside the caller's transaction (used by ``fire`` and batches)."""
    wf = get_workflow(case.workflow)
    transition = wf.name_for(transition)
    actor = actor_for(user)
    # Whatever a caller passed, only declared fields go on; the guards and hooks also see what
    # the ids resolve to, the audit trail and the e-mails only the declared fields.
    declared = declared_payload(wf, transition, payload)
    payload = _enrich_payload(session, case, transition, dict(declared))
    payload["user_id"] = user.id if user else None
    try:
        effects = wf.plan(case_facts(session, case, now), actor, transition, payload)
    except TransitionRefused as exc:
        raise Refused("This action is not possible now.", exc.reasons) from exc

    for name in effects.effects:
        run_hook(session, case, name, payload, now)
    if effects.party_fact:
        party, fact = effects.party_fact
        session.add(PartyFact(case=case, party=party, fact=fact,
                              user_id=user.id if user else None, at=now))
    # Every action bumps the version, so two parties acting at once cannot both miss each other.
    # The case changes before the queries below, so their autoflush writes it once.
    case.updated_at = now
    if effects.moved:
        case.state = effects.target
        case.state_entered_at = now
    event = audit.record(session, transition, user, case=case, at=now,
                         source_address=source_address, from_state=effects.source,
                         to_state=effects.target, payload=_audit_payload(declared))
    # Recipients are the parties as they were: leaving a pairing clears the partner.
    if effects.notifications:
        # People are not what a transition changes: finding them need not write the case yet,
        # so the case is written once, with whatever entering the new state adds to it.
        with session.no_autoflush:
            people = outbox.Recipients(session, [case],
                                       {g for n in effects.notifications for g in n.to})
            recipients = [(n, people(case, n.to)) for n in effects.notifications]
        if effects.dropped_party:
            # Where the others go on to is no longer the business of the partner who left.
            own = set(effects.transition.notify)
            recipients = [(n, people if n in own else [
                (party, person) for party, person in people if party != effects.dropped_party])
                for n, people in recipients]
    else:
        recipients = []
    if effects.dropped_party:
        declared = {**declared, **_dropped_context(case, effects.dropped_party)}
        drop_partner(session, case, effects.dropped_party)
    started: list[Deadline] = []
    if effects.moved:
        # Leaving and entering read rows that were there before the transition; the case, its
        # audit event and what entering adds are then written in one flush, the case once.
        with session.no_autoflush:
            _leave_state(session, wf, case, effects, now)
            started = enter_state(session, wf, case, payload, now, hooks=effects.hooks)
    for follow in wiring().after_transition:
        follow(session, case, transition, user, payload, now)
    session.flush()
    # A mail announces the deadline the transition started, else the newest open one.
    newest = {d.kind: d.id for d in started}
    announced = {kind: newest[kind] if kind in newest else announced_deadline(session, case, kind)
                 for kind in {n.deadline for n, _ in recipients if n.deadline}}
    # One insert for every notification of the transition.
    outbox.queue_many(session, [
        outbox.Mail(key=f"event:{event.id}:{n.template}:{person.id}", template=n.template,
                    user=person, case=case, optional=n.optional,
                    deadline_id=announced.get(n.deadline) if n.deadline else None,
                    context=_notification_context(case, event, party, declared))
        for n, people in recipients for party, person in people])
    return effects


def announced_deadline(session: Session, case: Case, kind: str) -> int | None:
    """The id of the case's newest open deadline of ``kind``: the one a mail announces."""
    return session.scalar(select(Deadline.id).where(
        Deadline.case_id == case.id, Deadline.kind == kind,
        Deadline.status == DeadlineStatus.OPEN).order_by(Deadline.id.desc()).limit(1))


def enter_state(session: Session, wf: Workflow, case: Case, payload: Mapping[str, Any],
                now: datetime, hooks: tuple[str, ...] | None = None) -> list[Deadline]:
    """Start the deadlines of the case's current state and run its hooks; the deadlines
    started are returned."""
    state = wf.state(case.state)
    started = [start_deadline(session, case, spec, now, payload) for spec in state.deadlines]
    for name in state.on_enter if hooks is None else hooks:
        run_hook(session, case, name, payload, now)
    return [d for d in started if d is not None]


def _leave_state(session: Session, wf: Workflow, case: Case, effects: Effects,
                 now: datetime) -> None:
    closing = wf.state(effects.target).kind is StateKind.CLOSED
    status = DeadlineStatus.CANCELLED if closing else DeadlineStatus.MET
    # A closed case keeps no deadline, not even one that outlives its state. Two set-based
    # updates, not a read of each deadline and its reminders; only a deliverable's deadline,
    # which no state holds, counts in the dashboard's tallies.
    if closing:
        tallies.touch(session, [case.id])
    deadlines, reminders = Deadline.__table__, Reminder.__table__
    which = [deadlines.c.case_id == case.id, deadlines.c.status == DeadlineStatus.OPEN]
    if not closing:
        which.append(deadlines.c.state == effects.source)
    ended = session.execute(update(deadlines).where(*which)
                            .values(status=status, ended_at=now)
                            .returning(deadlines.c.id)).scalars().all()
    if not ended:
        return
    cancelled = session.execute(update(reminders).where(reminders.c.deadline_id.in_(ended),
                                                        reminders.c.done_at.is_(None))
                                .values(done_at=now, outcome="cancelled")
                                .returning(reminders.c.id)).scalars().all()
    # What the session already holds of them says what the database now does; nothing is
    # read for it (the session may hold thousands of other rows).
    for model, ids, values in ((Deadline, ended, {"status": status, "ended_at": now}),
                               (Reminder, cancelled, {"done_at": now, "outcome": "cancelled"})):
        held = (session.identity_map.get(identity_key(model, row_id)) for row_id in ids)
        for row in (h for h in held if h is not None):
            for name, value in values.items():
                set_committed_value(row, name, value)


def restart_state_deadlines(session: Session, case: Case, now: datetime) -> list[Deadline]:
    """Give the parties the state's full time again (a new agreement version to sign); the
    new deadlines are returned."""
    state = get_workflow(case.workflow).state(case.state)
    kinds = [spec.kind for spec in state.deadlines]
    for d in session.scalars(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.status == DeadlineStatus.OPEN,
            Deadline.state == case.state, Deadline.kind.in_(kinds))):
        end_deadline(session, d, DeadlineStatus.CANCELLED, now)
    started = [start_deadline(session, case, spec, now, {}) for spec in state.deadlines]
    return [d for d in started if d is not None]


def end_deadline(session: Session, deadline: Deadline, status: str, now: datetime) -> None:
    """Mark a deadline met or cancelled; its reminders not yet sent will never be."""
    deadline.status = status
    deadline.ended_at = now
    for r in deadline.reminders:
        if r.done_at is None:
            r.done_at = now
            r.outcome = "cancelled"


def move_deadline(deadline: Deadline, due: datetime) -> None:
    """Move a deadline; its reminders not yet sent move with it, and its calendar event's
    sequence grows so that calendars replace the event."""
    if deadline.due_at != due:
        deadline.sequence = (deadline.sequence or 0) + 1
    deadline.due_at = due
    for r in deadline.reminders:
        if r.done_at is None:
            r.scheduled_at = due + timedelta(minutes=r.offset_minutes)


def start_deadline(session: Session, case: Case, spec: DeadlineSpec, now: datetime,
                   payload: Mapping[str, Any], *, due: datetime | None = None,
                   deliverable_id: int | None = None) -> Deadline | None:
    """Create a deadline row and its reminders; reminders already in the past are not made."""
    if due is None:
        closes = None
        if spec.anchor is Anchor.CALL_CLOSES:
            closes = extension_for(session, case) or case.call.closes_at
        due = deadline_due(spec, now, closes, payload)
    if due is None:
        return None
    deadline = Deadline(case_id=case.id, kind=spec.kind, label=spec.label, due_at=due,
                        timezone=case.call.timezone, state=case.state,
                        deliverable_id=deliverable_id, created_at=now)
    session.add(deadline)
    for r in spec.reminders:
        at = due + r.offset
        if at < now:
            continue
        deadline.reminders.append(Reminder(
            case_id=case.id, offset_minutes=int(r.offset.total_seconds() // 60),
            scheduled_at=at, recipients=list(r.to), template=r.template,
            unless_done_by=r.unless_done_by))
    return deadline


def _audit_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for k, v in payload.items():
        if isinstance(v, date):
            clean[k] = v.isoformat()
        elif isinstance(v, (str, int, float, bool, list, dict)) or v is None:
            clean[k] = v
    return clean


def _notification_context(case: Case, audit: AuditEvent, party: str,
                          declared: Mapping[str, Any]) -> dict[str, Any]:
    # The case's own facts go last: no field can stand in for them (the definitions also
    # refuse fields named like them).
    ctx = _audit_payload(declared)
    ctx.update({"case_id": case.id, "reference": case.reference,
                **outbox.party_context(party), "transition": audit.action,
                "from_state": audit.from_state, "to_state": audit.to_state,
                "actor": audit.actor_label})
    return ctx


def _dropped_context(case: Case, party: str) -> dict[str, Any]:
    # The mail tells who left and who stays; the leaver is gone from the case by then.
    gone = party_partner_id(party)
    names = [link.partner_city.name for link in case.partner_links]
    left = next((link.partner_city.name for link in case.partner_links
                 if link.partner_city_id == gone), "")
    return {"partner_name": left, "partners_staying": [n for n in names if n != left]}


# -- hooks of the workflow core (the wiring names them) -------------------------------------

def stamp_submission(session: Session, case: Case, payload: Mapping[str, Any],
                      now: datetime) -> None:
    case.submitted_at = now
    case.flagged_sections = []


#: for each transition field of type "choices", the names it may take on a case (None: on
#: any case), with the labels people read
FIELD_CHOICES: dict[str, Callable[[Case | None], list[tuple[str, str]]]] = {
    "sections": section_choices,
}


def field_choices(field: str, case: Case | None = None) -> list[tuple[str, str]]:
    """The (name, label) pairs a "choices" field of a transition offers on ``case``."""
    return FIELD_CHOICES[field](case)


def flag_sections(session: Session, case: Case, payload: Mapping[str, Any],
                   now: datetime) -> None:
    named = list(dict.fromkeys(payload.get("sections") or []))
    offered = {key for key, _label in field_choices("sections", case)}
    unknown = [str(s) for s in named if s not in offered]
    if unknown:
        raise Refused("This application has no such section.",
                      [f"There is no section “{s}” in this application; name sections among: "
                       f"{', '.join(sorted(offered))}." for s in unknown])
    case.flagged_sections = named


def _sync_lead(session: Session, case: Case) -> None:
    # ``Case.partner_city_id`` is the lead partner: lists, filters and scopes read it.
    links = sorted(case.partner_links, key=lambda link: link.position)
    case.partner_city_id = links[0].partner_city_id if links else None
    session.flush()
    session.refresh(case, ["partner_city"])


def set_partner(session: Session, case: Case, payload: Mapping[str, Any],
                 now: datetime) -> None:
    case.partner_links = [CasePartner(partner_city_id=payload["partner"]["id"], position=0,
                                      proposed_at=now, proposed_by_id=payload.get("user_id"))]
    _sync_lead(session, case)


def add_partner(session: Session, case: Case, payload: Mapping[str, Any],
                 now: datetime) -> None:
    position = max((link.position for link in case.partner_links), default=-1) + 1
    case.partner_links.append(CasePartner(partner_city_id=payload["partner"]["id"],
                                          position=position, proposed_at=now,
                                          proposed_by_id=payload.get("user_id")))
    _sync_lead(session, case)


def drop_partner(session: Session, case: Case, party: str) -> None:
    """Take one partner out of the case: its link, and what it had done as a party."""
    gone = party_partner_id(party)
    case.partner_links = [link for link in case.partner_links if link.partner_city_id != gone]
    session.execute(delete(PartyFact).where(PartyFact.case_id == case.id,
                                            PartyFact.party == party))
    session.expire(case, ["party_facts"])
    _sync_lead(session, case)


def reset_pairing(session: Session, case: Case, payload: Mapping[str, Any],
                   now: datetime) -> None:
    session.execute(delete(PartyFact).where(PartyFact.case_id == case.id))
    session.expire(case, ["party_facts"])
    case.partner_links = []
    case.partner_city_id = None


def run_eligibility(session: Session, case: Case, now: datetime) -> None:
    """Judge the case by its call's automatic rules now and store the verdicts in place of
    the earlier ones (entering review does this; so does a change of the call's rules)."""
    results = eligibility.evaluate(applicant_for_rules(session, case, now),
                                   call_rules(case.call))
    # The earlier verdicts go in one statement and the new ones come in another, unread;
    # the case reads its verdicts again when next asked.
    session.execute(delete(EligibilityResult).where(EligibilityResult.case_id == case.id)
                    .execution_options(synchronize_session=False))
    if results:
        session.execute(insert(EligibilityResult.__table__), [
            {"case_id": case.id, "position": i, "rule": r.rule, "title": r.title,
             "verdict": r.verdict.value, "message": r.message,
             "reason": to_data(r.reason) if isinstance(r.reason, Refusal) else None,
             "refer_to": r.refer_to, "run_at": now} for i, r in enumerate(results)])
    session.expire(case, ["eligibility_results"])
    case.eligibility_summary = eligibility.summary(results).value


def fix_cooperation_period(session: Session, case: Case, payload: Mapping[str, Any],
                           now: datetime) -> None:
    """The cooperation starts now and runs for the call's months."""
    case.cooperation_start = now
    case.cooperation_ends_at = now + relativedelta(months=case.call.cooperation_months)


def call_rules(call: Call) -> eligibility.CallRules:
    """The call's eligibility parameters as the pure rules take them: the call's own, and its
    kind's (the organisation types it reviews and points elsewhere, its commitments)."""
    words = vocabulary(call.kind)
    return eligibility.CallRules(
        population_threshold=call.population_threshold,
        eligible_countries=tuple(call.eligible_countries or eligibility.EU_MEMBER_STATES),
        allowed_types=tuple(call.applicant_types),
        opens_at=call.opens_at,
        closes_at=call.closes_at,
        cooperation_months=call.cooperation_months,
        commitments=words.commitments,
        review_types=words.review_types,
        referrals=referrals(vocabularies(), call.kind),
        population_below=(call.settings or {}).get("population_below_threshold", "review"),
    )


def applicant_for_rules(session: Session, case: Case, now: datetime) -> eligibility.Applicant:
    """The case's application as the pure eligibility rules take it."""
    org = case.organisation
    others = session.scalars(_LIVE_SIBLINGS, {
        "call_id": case.call_id, "organisation_id": case.organisation_id, "case_id": case.id,
        "partner_region": case.partner_region,
        "states": get_workflow(case.workflow).states_of_kind(
            StateKind.REVIEW, StateKind.APPLICANT_ACTION, StateKind.WAITING, StateKind.ACTIVE),
    }).all()
    return eligibility.Applicant(
        name=org.name,
        org_type=org.kind,
        country=org.country,
        population=org.population,
        members=tuple(eligibility.Member(m.name, m.population, m.has_commitment, m.is_lead)
                      for m in org.members),
        lead_contact_name=case.contact_name,
        lead_contact_email=case.contact_email,
        commitments={k: bool(v) for k, v in (case.commitments or {}).items()},
        resources_committed=case.resources_committed,
        submitted_at=case.submitted_at or now,
        extension_until=extension_for(session, case),
        other_live_applications=tuple(others),
        partner_region=case.partner_region,
    )


def audit_trail(case_id: int) -> list[AuditEvent]:
    """The case's audit events, oldest first."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                   .order_by(AuditEvent.at, AuditEvent.id)))


def actor(user: User | None) -> Actor:
    return actor_for(user)
