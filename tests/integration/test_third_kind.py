"""A third call kind is one definition plus the templates it names: registered here, a small
grants call runs through the engine and the operations layer (applications, transitions fired
by purpose, the audit trail, the e-mails) with no change to the shell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.models import AuditEvent, Call, Case, Notification
from webapp.operations import applications, cases
from workflows import get_workflow, registered, workflows
from workflows.engine import (
    Hook,
    Notify,
    Purpose,
    Role,
    State,
    StateKind,
    Transition,
    Workflow,
)
from workflows.guards import GUARDS
from workflows.lap import LAP
from workflows.vocabulary import Commitment, Vocabulary

pytestmark = pytest.mark.integration

APPLICANT, STAFF = (Role.APPLICANT,), (Role.COORDINATOR, Role.ADMIN)

SMALL_GRANTS = Workflow(
    kind="small-grants",
    title="Small grants for city networks",
    initial="grant_draft",
    states=(
        State(name="grant_draft", kind=StateKind.DRAFT, stage="Application",
              staff_label="Grant draft", applicant_label="Grant draft",
              editable_by_applicant=True),
        State(name="grant_review", kind=StateKind.REVIEW, stage="Review",
              staff_label="Grant review", applicant_label="Grant in review",
              on_enter=(Hook.RUN_ELIGIBILITY,)),
        State(name="funded", kind=StateKind.SUCCESS, stage="Funded",
              staff_label="Funded", applicant_label="Funded"),
        State(name="not_funded", kind=StateKind.CLOSED, stage="Review",
              staff_label="Not funded", applicant_label="Not funded"),
        State(name="grant_withdrawn", kind=StateKind.CLOSED, stage="Application",
              staff_label="Withdrawn", applicant_label="Withdrawn"),
    ),
    transitions=(
        Transition(name="send_grant", purpose=Purpose.SUBMIT_APPLICATION,
                   sources=("grant_draft",), target="grant_review", roles=APPLICANT,
                   label="Send the grant application",
                   guards=("call_open", "sections_complete", "commitments_given"),
                   effects=(Hook.STAMP_SUBMISSION,),
                   notify=(Notify("application_submitted", ("applicant",)),)),
        Transition(name="fund", purpose=Purpose.DECLARE_ELIGIBLE,
                   sources=("grant_review",), target="funded", roles=STAFF,
                   label="Fund", guards=("failed_rules_overridden",),
                   notify=(Notify("declared_eligible", ("applicant",)),)),
        Transition(name="do_not_fund", purpose=Purpose.DECLARE_INELIGIBLE,
                   sources=("grant_review",), target="not_funded", roles=STAFF,
                   label="Do not fund", style="warning",
                   notify=(Notify("declared_ineligible", ("applicant",)),)),
        Transition(name="take_back", purpose=Purpose.WITHDRAW,
                   sources=("grant_draft", "grant_review"), target="grant_withdrawn",
                   roles=APPLICANT, label="Withdraw", style="warning",
                   notify=(Notify("case_withdrawn", ("applicant", "coordinator")),)),
    ),
    guards=GUARDS,
    hooks=frozenset(Hook),
    vocabulary=Vocabulary(
        applicant_noun="city", applicant_types=("city", "group"),
        applicant_description="a city or a group of municipalities",
        applicant_hint="Only cities and their groups apply for a small grant.",
        call_name="a small-grants call", partner_kind="city", partner_noun="partner city",
        partner_title="Partner city", plan_name="work plan", plan_title="Work plan",
        agreement_name="Grant Agreement", plan=LAP,
        commitments=(Commitment("share_results", "Share the results with the network"),),
    ),
)


@pytest.fixture
def small_grants(world):
    with registered(SMALL_GRANTS):
        call = Call(programme=world.programme, slug="grants", kind=SMALL_GRANTS.kind,
                    title="Small grants 2026", partner_regions=["Asia"],
                    opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=30))
        db.session.add(call)
        db.session.commit()
        yield call


def test_the_third_kind_is_sound_and_offered_beside_the_others():
    assert SMALL_GRANTS.validate() == []
    with registered(SMALL_GRANTS):
        assert get_workflow("small-grants") is SMALL_GRANTS
        assert set(workflows()) == {"city-to-city", "region-to-region", "small-grants"}
    assert "small-grants" not in workflows()


def test_a_third_kind_runs_through_the_operations_layer_by_purpose(world, small_grants):
    started = applications.start_application(world.applicant_a, small_grants.id)
    case = db.session.get(Case, started.id)
    assert case.workflow == "small-grants" and case.state == "grant_draft"

    # Refused by the shared guards, with stable codes and sentences for people.
    with pytest.raises(Refused) as refused:
        cases.fire(case.id, Purpose.SUBMIT_APPLICATION, world.applicant_a)
    assert "sections_incomplete" in {getattr(r, "code", None) for r in refused.value.refusals}
    assert any("Complete these sections first" in r for r in refused.value.reasons)

    complete_application(case)
    fired = cases.fire(case.id, Purpose.SUBMIT_APPLICATION, world.applicant_a)
    assert (fired.transition, fired.target, fired.moved) == ("send_grant", "grant_review", True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.submitted_at is not None  # the stamp_submission hook ran
    assert case.eligibility_summary  # the run_eligibility hook ran on entering review

    # Purposes this kind does not declare name no transition.
    with pytest.raises(Refused) as refused:
        cases.fire(case.id, Purpose.PROPOSE_PARTNER, world.coordinator)
    assert refused.value.refusals[0].code == "no_such_action"

    cases.fire(case.id, Purpose.DECLARE_ELIGIBLE, world.coordinator,
               {} if case.eligibility_summary == "pass" else {"override_reason": "checked"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "funded"
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                               .order_by(AuditEvent.id)).all()
    assert [(e.action, e.to_state) for e in trail if e.action in ("send_grant", "fund")] == [
        ("send_grant", "grant_review"), ("fund", "funded")]
    mails = db.session.scalars(select(Notification).where(Notification.case_id == case.id)
                               .order_by(Notification.id)).all()
    assert [m.template for m in mails] == ["application_submitted", "declared_eligible"]
    # Nothing more to do for the applicant on a funded grant.
    assert cases.options(db.session.get(Case, case.id), world.applicant_a) == []
