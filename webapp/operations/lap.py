"""The Local Action Plan (SPEC §9) and the region-to-region joint roadmap: a working draft
saved section by section, versions frozen when they are sent or submitted, and the review.

Which transitions submit, approve and send back the plan is read from the workflow definition
(by their purposes), never from names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.access import actor_for, load_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, Refused
from webapp.models import (
    AuditEvent,
    Case,
    Deliverable,
    LapVersion,
    LocalActionPlan,
    Topic,
    User,
)
from webapp.models.party import is_party
from webapp.operations import cases
from webapp.operations.cooperation import (
    mark_submitted,
    rules_for_call,
    start_deliverable_deadline,
)
from webapp.printing import pdf_from_template
from workflows import get_workflow, lap, vocabulary
from workflows.engine import Purpose, StateKind, Transition, Workflow
from workflows.schedule import DeliverableKind, DeliverableStatus


@dataclass(frozen=True)
class PlanSteps:
    """The transitions that submit the plan, approve it and send it back for revision."""

    submit: Transition
    approve: Transition | None
    revise: Transition | None


def steps(wf: Workflow) -> PlanSteps | None:
    """The plan's transitions in a workflow, or None when it has no plan to submit."""
    submit = wf.for_purpose(Purpose.SUBMIT_PLAN)
    if submit is None:
        return None
    return PlanSteps(submit, wf.for_purpose(Purpose.APPROVE_PLAN),
                     wf.for_purpose(Purpose.REVISE_PLAN))


def _steps(case: Case) -> PlanSteps:
    found = steps(get_workflow(case.workflow))
    if found is None:
        raise NotFound("This call has no plan to write.")
    return found


def plan_name(case: Case) -> str:
    """What the plan is called in this case's call, as a heading."""
    return vocabulary(case.workflow).plan_title


def edit_refusal(case: Case, user: User) -> str | None:
    """None when ``user`` may change the working draft now, else the reason why not."""
    wf = get_workflow(case.workflow)
    st = _steps(case)
    if not is_party(user) or actor_for(user).role not in st.submit.roles:
        noun = vocabulary(case.workflow).applicant_noun
        return f"Only the cooperating {noun} can change its plan."
    state = wf.state(case.state)
    if state.kind is StateKind.ACTIVE or case.state in st.submit.sources:
        return None
    if case.state == st.submit.target:
        return ("The plan is being reviewed. You can change it again if the coordinator asks "
                "for a revision.")
    if state.kind.terminal:
        return "The plan can no longer change."
    return "The plan can be written once the cooperation has started."


def get_plan(session: Session, case_id: int) -> LocalActionPlan | None:
    """The case's working draft, if anyone has saved a section."""
    return session.scalar(select(LocalActionPlan).where(LocalActionPlan.case_id == case_id))


class SectionConflict(Conflict):
    """Someone saved the same section first; ``revision`` is the one now stored."""

    def __init__(self, revision: int, saved_by: str, saved_at: datetime):
        super().__init__(
            f"{saved_by or 'Someone else'} saved this section while you were editing it. Your "
            "answers are still in the form: check them against the saved plan and save again "
            "to keep yours.")
        self.revision = revision
        self.saved_by = saved_by
        self.saved_at = saved_at


def _editable_case(session: Session, case_id: int, user: User) -> Case:
    case = load_case(case_id, user, session=session)
    reason = edit_refusal(case, user)
    if reason:
        raise Forbidden(reason) if not is_party(user) else Refused(reason)
    return case


def save_section(case_id: int, user: User, key: str, values: Mapping[str, Any], *,
                 expected_revision: int, now: datetime | None = None) -> LocalActionPlan:
    """Save one section of the working draft; anything may be saved, complete or not.

    ``expected_revision`` is the section's revision the writer started from; a different one
    raises SectionConflict and saves nothing.
    """
    now = now or utcnow()
    try:
        with db.transaction() as session:
            case = _editable_case(session, case_id, user)
            definition = vocabulary(case.workflow).plan
            if definition.section(key) is None:
                raise NotFound("There is no such section.")
            plan = get_plan(session, case.id)
            if plan is None:
                plan = LocalActionPlan(case_id=case.id, content={}, revisions={},
                                       created_at=now)
                session.add(plan)
            current = int((plan.revisions or {}).get(key, 0))
            if current != expected_revision:
                raise SectionConflict(current, plan.updated_by.display_name
                                      if plan.updated_by else "", plan.updated_at)
            plan.content = {**(plan.content or {}), key: definition.clean_section(key, values)}
            plan.revisions = {**(plan.revisions or {}), key: current + 1}
            plan.updated_at, plan.updated_by_id = now, user.id
            session.flush()
            return plan
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict("Someone else saved the plan at the same moment. Reload the section, "
                       "check their changes and save again.") from exc


def _freeze(session: Session, case: Case, plan: LocalActionPlan, user: User, purpose: str,
            deliverable: Deliverable | None, now: datetime) -> LapVersion:
    version = LapVersion(case_id=case.id, number=plan.draft_number, purpose=purpose,
                         content=dict(plan.content or {}),
                         sha256=lap.content_hash(plan.content or {}),
                         deliverable_id=deliverable.id if deliverable else None,
                         submitted_at=now, submitted_by_id=user.id)
    session.add(version)
    # Later edits start the next draft; the frozen one never changes.
    plan.draft_number += 1
    session.flush()
    return version


def _deliverable(session: Session, case: Case, kind: DeliverableKind) -> Deliverable | None:
    return session.scalar(select(Deliverable).where(
        Deliverable.case_id == case.id, Deliverable.kind == kind.value)
        .order_by(Deliverable.sequence.desc()).limit(1))


def send_draft(case_id: int, user: User, *, now: datetime | None = None) -> LapVersion:
    """Send the working draft to the coordinator for comments: the draft plan deliverable."""
    now = now or utcnow()
    try:
        with db.transaction() as session:
            case = _editable_case(session, case_id, user)
            d = _deliverable(session, case, DeliverableKind.DRAFT_LAP)
            if d is None:
                raise Refused("This cooperation has no draft plan to hand in.")
            plan = get_plan(session, case.id)
            if plan is None or not any(plan.content.values()):
                raise Refused("Write at least one section of the plan first.")
            mark_submitted(session, case, d, user, now)
            return _freeze(session, case, plan, user, "draft", d, now)
    except StaleDataError as exc:
        raise Conflict("Someone else saved the plan at the same moment. Please try again.") \
            from exc


def submit(case_id: int, user: User, *, expected_version: int | None = None,
           source_address: str = "", now: datetime | None = None) -> LapVersion:
    """Submit the plan through the workflow; the submitted version is frozen with its hash."""
    now = now or utcnow()
    try:
        with db.transaction() as session:
            case = load_case(case_id, user, session=session)
            st = _steps(case)
            if expected_version is not None and case.version != expected_version:
                raise Conflict("Someone else changed this case while you were looking at it. "
                               "Please check the page and submit again.")
            plan = get_plan(session, case.id)
            payload: dict[str, Any] = {}
            if plan is not None:
                payload = {"plan_version": plan.draft_number,
                           "plan_hash": lap.content_hash(plan.content or {})}
            cases.apply(session, case, st.submit.name, user, payload,
                        source_address=source_address, now=now)
            assert plan is not None  # the plan_complete guard has passed
            d = _deliverable(session, case, DeliverableKind.FINAL_LAP)
            if d is not None and d.status not in (DeliverableStatus.SUBMITTED,
                                                  DeliverableStatus.ACCEPTED):
                mark_submitted(session, case, d, user, now, check=False)
            return _freeze(session, case, plan, user, "final", d, now)
    except StaleDataError as exc:
        raise Conflict("Someone else changed this case at the same moment. Please reload it "
                       "and try again.") from exc


def review(case_id: int, user: User, *, approve: bool, comments: str = "",
           response_deadline: datetime | None = None, source_address: str = "",
           now: datetime | None = None) -> Case:
    """A coordinator approves the submitted plan, or sends it back with comments and a new
    deadline, through the workflow's own transitions."""
    now = now or utcnow()
    try:
        with db.transaction() as session:
            case = load_case(case_id, user, session=session)
            st = _steps(case)
            t = st.approve if approve else st.revise
            if t is None:
                raise Refused("This call has no such review step.")
            payload: dict[str, Any] = {} if approve else {
                "comments": comments.strip(), "response_deadline": response_deadline}
            cases.apply(session, case, t.name, user, payload, source_address=source_address,
                        now=now)
            return case
    except StaleDataError as exc:
        raise Conflict("Someone else changed this case at the same moment. Please reload it "
                       "and try again.") from exc


def record_review(session: Session, case: Case, transition: str, user: User | None,
                   payload: Mapping[str, Any], now: datetime) -> None:
    """The final plan's deliverable follows the review, whichever way it was fired."""
    wf = get_workflow(case.workflow)
    if not wf.serves(transition, Purpose.APPROVE_PLAN, Purpose.REVISE_PLAN):
        return  # and a kind without a plan never gets here
    d = _deliverable(session, case, DeliverableKind.FINAL_LAP)
    if d is None:
        return
    d.reviewed_at, d.reviewed_by_id = now, user.id if user else None
    d.review_comments = str(payload.get("comments") or "").strip()
    due = payload.get("response_deadline")
    if wf.serves(transition, Purpose.REVISE_PLAN) and isinstance(due, datetime):
        d.status, d.due_at = DeliverableStatus.REVISION_REQUESTED.value, due
        start_deliverable_deadline(session, case, d, rules_for_call(case), now)


def versions(session: Session, case_id: int) -> list[LapVersion]:
    """The frozen versions of the plan, the newest first."""
    return list(session.scalars(select(LapVersion).where(LapVersion.case_id == case_id)
                                .order_by(LapVersion.number.desc())))


def get_version(session: Session, case_id: int, number: int) -> LapVersion:
    """One frozen version of a case's plan."""
    version = session.scalar(select(LapVersion).where(LapVersion.case_id == case_id,
                                                      LapVersion.number == number))
    if version is None:
        raise NotFound("There is no such version of the plan.")
    return version


@dataclass(frozen=True)
class Outcome:
    """What became of a frozen version: approved/accepted or sent back, when, and why."""

    outcome: str
    at: datetime
    by: str
    comments: str


def outcomes(session: Session, case: Case, found: list[LapVersion]) -> dict[int, Outcome]:
    """The review of each version, read from the case's history whichever screen it came from.

    A final version is judged by the workflow's approve and revise transitions, a draft by the
    review of its deliverable.
    """
    st = _steps(case)
    names = {t.name: ("approved" if t is st.approve else "revision_requested")
             for t in (st.approve, st.revise) if t is not None}
    drafts = {"deliverable_accepted": "accepted",
              "deliverable_revision_requested": "revision_requested"}
    events = list(session.scalars(select(AuditEvent).where(
        AuditEvent.case_id == case.id, AuditEvent.action.in_([*names, *drafts]))
        .order_by(AuditEvent.at, AuditEvent.id)))
    result: dict[int, Outcome] = {}
    for v in found:
        for ev in events:
            if ev.at < v.submitted_at:
                continue
            if v.purpose == "final" and ev.action in names:
                outcome = names[ev.action]
            elif v.purpose == "draft" and ev.action in drafts and \
                    ev.payload.get("deliverable_id") == v.deliverable_id:
                outcome = drafts[ev.action]
            else:
                continue
            result[v.id] = Outcome(outcome, ev.at, ev.actor_label,
                                   str(ev.payload.get("comments") or ""))
            break
    return result


def sdg_labels(session: Session) -> dict[str, str]:
    """The Sustainable Development Goals of the topic vocabulary, by slug, in the reader's
    language."""
    return {t.slug: t.label for t in session.scalars(select(Topic).where(Topic.family == "sdg")
                                                     .order_by(Topic.slug))}


def render_pdf(case: Case, version: LapVersion) -> bytes:
    """A frozen version of the plan as a PDF, its number and fingerprint on every page."""
    definition = vocabulary(case.workflow).plan
    return pdf_from_template("documents/lap.html", case=case, version=version,
                             content=version.content, sections=definition.sections,
                             sectors=definition.sectors, sdgs=sdg_labels(db.session),
                             plan_name=plan_name(case))
