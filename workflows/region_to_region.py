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
    Notify,
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
    State("scoring", StateKind.REVIEW, "Scoring", "Eligible — being assessed", "Assessment",
          future_label="Assessment"),
    State("awaiting_pairing", StateKind.WAITING, "Selected — awaiting pairing",
          "Selected — we are finding your partner region", "Pairing",
          future_label="Pairing", on_enter=("reset_pairing",)),
    city_to_city.pairing_proposed("A partner region is proposed — please respond"),
    city_to_city.agreement_pending("Sign the Cooperation Agreement", "Cooperation Agreement"),
    State("cooperation_active", StateKind.ACTIVE, "Facilitated cooperation",
          "Facilitated cooperation under way", "Cooperation",
          future_label="12 months of facilitated cooperation", on_enter=("start_cooperation",)),
    State("roadmap_submission", StateKind.APPLICANT_ACTION, "Roadmap due",
          "Submit your joint regional innovation roadmap", "Roadmap",
          future_label="Joint innovation roadmap"),
    State("roadmap_review", StateKind.REVIEW, "Roadmap in review",
          "Roadmap submitted — in review", "Roadmap"),
    _SHARED_STATES["completed"],
    _SHARED_STATES["ineligible"],
    State("not_selected", StateKind.CLOSED, "Not selected", "Not selected", "Assessment"),
    _SHARED_STATES["withdrawn"],
    _SHARED_STATES["terminated"],
)

_LIVE = tuple(s.name for s in STATES if not s.kind.terminal)
_PAIRED_ONWARDS = ("pairing_proposed", "agreement_pending", "cooperation_active",
                   "roadmap_submission", "roadmap_review")

TRANSITIONS = (
    _SHARED_TRANSITIONS["submit"],
    Transition("declare_eligible", ("eligibility_review",), "scoring", STAFF,
               "Declare eligible", guards=("failed_rules_overridden",),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when an automatic rule failed."),),
               notify=(STATE_CHANGED,)),
    _SHARED_TRANSITIONS["declare_ineligible"],
    _SHARED_TRANSITIONS["request_information"],
    _SHARED_TRANSITIONS["provide_information"],
    Transition("select", ("scoring",), "awaiting_pairing", STAFF, "Select for pairing",
               guards=("scores_given", "scores_meet_thresholds"),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when a score is below its threshold."),),
               notify=(Notify("declared_eligible", ("applicant",)),)),
    Transition("reject", ("scoring",), "not_selected", STAFF, "Do not select",
               guards=("scores_given",), fields=(REASON,), style="warning",
               notify=(Notify("declared_ineligible", ("applicant",)),)),
    Transition("propose_pairing", ("awaiting_pairing",), "pairing_proposed", STAFF,
               "Propose a partner region", guards=("partner_available",),
               effects=("set_partner",), fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing"),
    replace(_SHARED_TRANSITIONS["add_partner"], label="Add another partner region"),
    replace(_SHARED_TRANSITIONS["remove_partner"], label="Remove a partner region"),
    _SHARED_TRANSITIONS["accept_pairing"],
    _SHARED_TRANSITIONS["decline_pairing"],
    Transition("sign", ("agreement_pending",), "cooperation_active", PARTIES,
               "Sign the Cooperation Agreement", each_party="signed_agreement",
               guards=("signature_recorded",), fields=SIGNATURE,
               notify=(Notify("cooperation_started", ("parties",)),),
               screen="agreement"),
    _SHARED_TRANSITIONS["cancel_pairing"],
    Transition("close_cooperation", ("cooperation_active",), "roadmap_submission",
               STAFF_OR_SYSTEM, "Close the cooperation period", automatic=True,
               guards=("cooperation_period_elapsed", "periodic_reports_submitted"),
               notify=(STATE_CHANGED,)),
    # The roadmap can be handed in as soon as the period ends, before the sweep closes it.
    Transition("submit_roadmap", ("cooperation_active", "roadmap_submission"), "roadmap_review",
               PARTIES, "Submit the joint roadmap",
               guards=("cooperation_period_elapsed", "periodic_reports_submitted",
                       "plan_complete", "final_report_submitted", "plan_version_given"),
               fields=PLAN_VERSION,
               notify=(Notify("lap_submitted", ("applicant", "coordinator")),),
               screen="plan"),
    Transition("approve_roadmap", ("roadmap_review",), "completed", STAFF,
               "Approve the roadmap", notify=(Notify("lap_approved", ("parties",)),),
               screen="plan"),
    Transition("request_roadmap_revision", ("roadmap_review",), "roadmap_submission", STAFF,
               "Ask for a revision", style="secondary", guards=("response_deadline_ahead",),
               fields=(Field("comments", "What should change?"),
                       Field("response_deadline", "New deadline", type="datetime")),
               notify=(Notify("lap_revision_requested", ("applicant",),
                              deadline=DELIVERABLE_DEADLINE),),
               screen="plan"),
    Transition("withdraw", _LIVE, "withdrawn", APPLICANT, "Withdraw", fields=(REASON,),
               style="warning", notify=(Notify("case_withdrawn", ("applicant", "coordinator")),)),
    Transition("terminate", _PAIRED_ONWARDS, "terminated", STAFF, "Terminate",
               fields=(REASON,), style="warning",
               notify=(Notify("case_terminated", ("parties",)),)),
    Transition("reopen", ("ineligible", "not_selected"), "eligibility_review", (Role.ADMIN,),
               "Re-open", fields=(REASON,), style="secondary", notify=(STATE_CHANGED,)),
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
