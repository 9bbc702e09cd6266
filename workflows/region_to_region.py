"""The region-to-region innovation call (seed 001's component 2, seed 002): EU regions and
provinces apply, several evaluators score each application on three criteria, the selected
ones are paired with a partner region, cooperate for 12 facilitated months and deliver a joint
regional innovation roadmap."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from workflows import city_to_city
from workflows.city_to_city import (
    APPLICANT,
    HOOKS,
    PARTIES,
    PARTNER_CITY,
    PLAN_VERSION,
    REASON,
    SIGNATURE,
    STAFF,
    STAFF_OR_SYSTEM,
    STATE_CHANGED,
)
from workflows.engine import (
    DELIVERABLE_DEADLINE,
    Field,
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
from workflows.lap import ROADMAP
from workflows.vocabulary import Commitment, Criterion, Vocabulary

#: the three selection criteria, each scored 0–5, with the lowest acceptable mean score
CRITERIA = (
    Criterion("smart_specialisation", "Support for a smart-specialisation strategy (RIS3)", 3),
    Criterion("joint_projects", "Potential to leverage joint new projects", 3),
    Criterion("business_opportunities", "Potential to create business opportunities", 2),
)

#: what a region commits to (seed 001: innovation actions for regional development and
#: investment on a mutual benefit basis, engaging research institutions and business)
COMMITMENTS = (
    Commitment("cooperate",
               "Cooperate with the partner region for at least %(n)s months of facilitated "
               "cooperation"),
    Commitment("allocate_resources", "Allocate staff time and resources to the cooperation"),
    Commitment("develop_roadmap",
               "Develop a joint regional innovation roadmap with the partner region, building "
               "on the region's smart-specialisation strategy"),
    Commitment("engage_ecosystem",
               "Involve the region's universities, research centres, businesses and clusters "
               "in joint innovation projects"),
    Commitment("report_progress", "Report on progress during and after the cooperation"),
)

VOCABULARY = Vocabulary(
    applicant_noun="region", applicant_types=("region", "province"),
    applicant_description="a region or a province (a sub-national government)",
    applicant_hint="Cities, municipalities and their groups cannot apply to a region-to-region "
                   "call: they apply through a city-to-city call.",
    call_name="a region-to-region call", partner_kind="region", partner_noun="partner region",
    partner_title="Partner region", plan_name="joint regional innovation roadmap",
    plan_title="Joint regional innovation roadmap", agreement_name="Cooperation Agreement",
    commitments=COMMITMENTS, plan=ROADMAP, criteria=CRITERIA, total_threshold=9,
    min_evaluators=2, programme_target="regional_partnerships", draft_plan_share=(3, 4),
)

DAY = timedelta(days=1)
# Steps the two calls share are the same objects, so they cannot drift apart.
_SHARED_STATES = {s.name: s for s in city_to_city.STATES}
_SHARED_TRANSITIONS = {t.name: t for t in city_to_city.TRANSITIONS}

STATES = (
    _SHARED_STATES["draft"],
    _SHARED_STATES["eligibility_review"],
    _SHARED_STATES["information_requested"],
    State(name="scoring", kind=StateKind.REVIEW, stage="Assessment",
          staff_label="Scoring", applicant_label="Eligible — being assessed",
          future_label="Assessment"),
    State(name="awaiting_pairing", kind=StateKind.WAITING, stage="Pairing",
          staff_label="Selected — awaiting pairing",
          applicant_label="Selected — we are finding your partner region",
          future_label="Pairing", on_enter=(Hook.RESET_PAIRING,)),
    city_to_city.proposal_state(applicant_label="A partner region is proposed — please respond"),
    city_to_city.signing_state(sign_label="Sign the Cooperation Agreement",
                                   future_label="Cooperation Agreement"),
    State(name="cooperation_active", kind=StateKind.ACTIVE, stage="Cooperation",
          staff_label="Facilitated cooperation",
          applicant_label="Facilitated cooperation under way",
          future_label="12 months of facilitated cooperation",
          on_enter=(Hook.START_COOPERATION,)),
    State(name="roadmap_submission", kind=StateKind.APPLICANT_ACTION, stage="Roadmap",
          staff_label="Roadmap due",
          applicant_label="Submit your joint regional innovation roadmap",
          future_label="Joint innovation roadmap"),
    State(name="roadmap_review", kind=StateKind.REVIEW, stage="Roadmap",
          staff_label="Roadmap in review", applicant_label="Roadmap submitted — in review"),
    _SHARED_STATES["completed"],
    _SHARED_STATES["ineligible"],
    State(name="not_selected", kind=StateKind.CLOSED, stage="Assessment",
          staff_label="Not selected", applicant_label="Not selected"),
    _SHARED_STATES["withdrawn"],
    _SHARED_STATES["terminated"],
)

_LIVE = tuple(s.name for s in STATES if not s.kind.terminal)
_PAIRED_ONWARDS = ("pairing_proposed", "agreement_pending", "cooperation_active",
                   "roadmap_submission", "roadmap_review")

TRANSITIONS = (
    _SHARED_TRANSITIONS["submit"],
    Transition(name="declare_eligible", purpose=Purpose.DECLARE_ELIGIBLE,
               sources=("eligibility_review",), target="scoring", roles=STAFF,
               label="Declare eligible", guards=("failed_rules_overridden",),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when an automatic rule failed."),),
               notify=(STATE_CHANGED,)),
    _SHARED_TRANSITIONS["declare_ineligible"],
    _SHARED_TRANSITIONS["request_information"],
    _SHARED_TRANSITIONS["provide_information"],
    Transition(name="select", purpose=Purpose.SELECT,
               sources=("scoring",), target="awaiting_pairing", roles=STAFF,
               label="Select for pairing", guards=("scores_given", "scores_meet_thresholds"),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when a score is below its threshold."),),
               notify=(Notify("declared_eligible", ("applicant",)),)),
    Transition(name="reject", purpose=Purpose.REJECT,
               sources=("scoring",), target="not_selected", roles=STAFF,
               label="Do not select", guards=("scores_given",), fields=(REASON,),
               style="warning", notify=(Notify("declared_ineligible", ("applicant",)),)),
    Transition(name="propose_pairing", purpose=Purpose.PROPOSE_PARTNER,
               sources=("awaiting_pairing",), target="pairing_proposed", roles=STAFF,
               label="Propose a partner region", guards=("partner_available",),
               effects=(Hook.SET_PARTNER,), fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing"),
    replace(_SHARED_TRANSITIONS["add_partner"], label="Add another partner region"),
    replace(_SHARED_TRANSITIONS["remove_partner"], label="Remove a partner region"),
    _SHARED_TRANSITIONS["accept_pairing"],
    _SHARED_TRANSITIONS["decline_pairing"],
    Transition(name="sign", purpose=Purpose.SIGN_AGREEMENT,
               sources=("agreement_pending",), target="cooperation_active", roles=PARTIES,
               label="Sign the Cooperation Agreement", each_party="signed_agreement",
               guards=("signature_recorded",), fields=SIGNATURE,
               notify=(Notify("cooperation_started", ("parties",)),),
               screen="agreement"),
    _SHARED_TRANSITIONS["cancel_pairing"],
    Transition(name="close_cooperation", purpose=Purpose.CLOSE_COOPERATION,
               sources=("cooperation_active",), target="roadmap_submission",
               roles=STAFF_OR_SYSTEM, label="Close the cooperation period", automatic=True,
               guards=("cooperation_period_elapsed", "periodic_reports_submitted"),
               notify=(STATE_CHANGED,)),
    # The roadmap can be handed in as soon as the period ends, before the sweep closes it.
    Transition(name="submit_roadmap", purpose=Purpose.SUBMIT_PLAN,
               sources=("cooperation_active", "roadmap_submission"), target="roadmap_review",
               roles=PARTIES, label="Submit the joint roadmap",
               guards=("cooperation_period_elapsed", "periodic_reports_submitted",
                       "plan_complete", "final_report_submitted", "plan_version_given"),
               fields=PLAN_VERSION,
               notify=(Notify("lap_submitted", ("applicant", "coordinator")),),
               screen="plan"),
    Transition(name="approve_roadmap", purpose=Purpose.APPROVE_PLAN,
               sources=("roadmap_review",), target="completed", roles=STAFF,
               label="Approve the roadmap", notify=(Notify("lap_approved", ("parties",)),),
               screen="plan"),
    Transition(name="request_roadmap_revision", purpose=Purpose.REVISE_PLAN,
               sources=("roadmap_review",), target="roadmap_submission", roles=STAFF,
               label="Ask for a revision", style="secondary",
               guards=("response_deadline_ahead",),
               fields=(Field("comments", "What should change?"),
                       Field("response_deadline", "New deadline", type="datetime")),
               notify=(Notify("lap_revision_requested", ("applicant",),
                              deadline=DELIVERABLE_DEADLINE),),
               screen="plan"),
    Transition(name="withdraw", purpose=Purpose.WITHDRAW,
               sources=_LIVE, target="withdrawn", roles=APPLICANT,
               label="Withdraw", fields=(REASON,), style="warning",
               notify=(Notify("case_withdrawn", ("applicant", "coordinator")),)),
    Transition(name="terminate", purpose=Purpose.TERMINATE,
               sources=_PAIRED_ONWARDS, target="terminated", roles=STAFF,
               label="Terminate", fields=(REASON,), style="warning",
               notify=(Notify("case_terminated", ("parties",)),)),
    Transition(name="reopen", purpose=Purpose.REOPEN,
               sources=("ineligible", "not_selected"), target="eligibility_review",
               roles=(Role.ADMIN,), label="Re-open", fields=(REASON,), style="secondary",
               notify=(STATE_CHANGED,)),
)

WORKFLOW = Workflow(
    kind="region-to-region",
    title="IURC region-to-region innovation cooperation",
    initial="draft",
    states=STATES,
    transitions=TRANSITIONS,
    guards=GUARDS,
    hooks=HOOKS,
    vocabulary=VOCABULARY,
)
