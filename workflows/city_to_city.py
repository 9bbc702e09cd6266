"""The IUC city-to-city call: an EU city applies, is checked, paired, signs, cooperates for
18 months and delivers its Local Action Plan."""

from __future__ import annotations

from datetime import timedelta

from workflows.engine import (
    DELIVERABLE_DEADLINE,
    Anchor,
    DeadlineSpec,
    Field,
    FieldSource,
    Hook,
    Notify,
    Purpose,
    Reminder,
    Role,
    State,
    StateKind,
    Transition,
    Workflow,
)
from workflows.guards import GUARDS
from workflows.lap import LAP
from workflows.vocabulary import Commitment, Vocabulary

APPLICANT = (Role.APPLICANT,)
PARTIES = (Role.APPLICANT, Role.PARTNER)
STAFF = (Role.COORDINATOR, Role.ADMIN)
STAFF_OR_SYSTEM = (Role.COORDINATOR, Role.ADMIN, Role.SYSTEM)

#: the hooks this kind names, which the operations layer implements
HOOKS = frozenset(Hook)

#: the declarations of seed 003 ("What are European cities committing to?")
COMMITMENTS = (
    Commitment("cooperate_18_months", "Cooperate with the partner city for at least %(n)s months"),
    Commitment("allocate_resources", "Allocate staff time and resources to the cooperation"),
    Commitment("develop_lap",
               "Develop a Local Action Plan through an inclusive multi-stakeholder process"),
    Commitment("report_progress", "Report on progress during and after the cooperation"),
)

VOCABULARY = Vocabulary(
    applicant_noun="city", applicant_types=("city", "group"), review_types=("metropolitan",),
    applicant_description="a city, a municipality or a group of municipalities",
    applicant_hint="Regions and provinces cannot apply to a city-to-city call: they apply "
                   "through a region-to-region call. A metropolitan or inter-municipal body is "
                   "checked by a coordinator.",
    call_name="a city-to-city call", partner_kind="city", partner_noun="partner city",
    partner_title="Partner city", plan_name="Local Action Plan", plan_title="Local Action Plan",
    agreement_name="Partnership Agreement", commitments=COMMITMENTS, plan=LAP,
    programme_target="city_partnerships", draft_plan_share=(2, 3),
)

DAY = timedelta(days=1)
REASON = Field("reason", "Reason", hint="Shown to the applicant and kept in the case history.")
STATE_CHANGED = Notify("state_changed", ("applicant",), optional=True)
#: the partner city the pairing screen (or an API caller) proposes
PARTNER_CITY = Field("partner_city_id", "Partner city", type="id", required=False,
                     source=FieldSource.SCREEN)
#: the application sections an information request opens for editing
SECTIONS = Field("sections", "Sections to revise", type="choices", required=False,
                 hint="Only the sections you tick can be changed while the request is open, "
                      "the others stay as submitted. Tick none to let the applicant change any "
                      "section.")
#: what the agreement screen records of a signature, kept in the audit trail
SIGNATURE = tuple(Field(name, label, required=False, source=FieldSource.RECORDED)
                  for name, label in (("method", "Signature method"), ("full_name", "Signatory"),
                                      ("title", "Signatory's title"),
                                      ("agreement_version", "Agreement version"),
                                      ("agreement_hash", "Agreement hash"),
                                      ("signature_id", "Signature")))
#: the plan version the plan screen submits, frozen with its hash
PLAN_VERSION = tuple(Field(name, label, required=False, source=FieldSource.RECORDED)
                     for name, label in (("plan_version", "Plan version"),
                                         ("plan_hash", "Plan hash")))

def proposal_state(*, applicant_label: str) -> State:
    """Both parties have ten days to accept a proposed partner, then the coordinator is told."""
    return State(
        name="pairing_proposed", kind=StateKind.WAITING, stage="Pairing",
        staff_label="Pairing proposed", applicant_label=applicant_label,
        deadlines=(DeadlineSpec(
            "pairing_response", "Accept the proposed pairing", Anchor.ENTERED, after=10 * DAY,
            reminders=(Reminder(-5 * DAY, ("parties",), "reminder_pairing_proposed",
                                unless_done_by="accepted_pairing"),
                       Reminder(0 * DAY, ("coordinator",), "escalation_pairing")),
        ),))


def signing_state(*, sign_label: str, future_label: str) -> State:
    """Thirty days to sign, with a weekly reminder to each party that has not signed yet."""
    return State(
        name="agreement_pending", kind=StateKind.WAITING, stage="Agreement",
        staff_label="Agreement awaiting signatures", applicant_label=sign_label,
        future_label=future_label, on_enter=(Hook.GENERATE_AGREEMENT,),
        deadlines=(DeadlineSpec(
            "agreement_signature", sign_label, Anchor.ENTERED, after=30 * DAY,
            reminders=tuple(
                Reminder(-days * DAY, ("parties",), "reminder_agreement",
                         unless_done_by="signed_agreement")
                for days in (23, 16, 9, 2)
            ) + (Reminder(0 * DAY, ("coordinator",), "escalation_agreement"),),
        ),))


STATES = (
    State(name="draft", kind=StateKind.DRAFT, stage="Application",
          staff_label="Draft", applicant_label="Draft — not yet submitted",
          future_label="Apply", editable_by_applicant=True,
          deadlines=(DeadlineSpec(
              "call_closing", "Call closes", Anchor.CALL_CLOSES,
              reminders=(Reminder(-7 * DAY, ("applicant",), "reminder_call_closing"),
                         Reminder(-1 * DAY, ("applicant",), "reminder_call_closing")),
          ),)),
    State(name="eligibility_review", kind=StateKind.REVIEW, stage="Eligibility",
          staff_label="Eligibility review", applicant_label="Submitted — eligibility being checked",
          future_label="Eligibility check", on_enter=(Hook.RUN_ELIGIBILITY,)),
    State(name="information_requested", kind=StateKind.APPLICANT_ACTION, stage="Eligibility",
          staff_label="Information requested", applicant_label="Information requested from you",
          editable_by_applicant=True,
          deadlines=(DeadlineSpec(
              "information_response", "Answer the information request", Anchor.PAYLOAD,
              payload_field="response_deadline",
              reminders=(Reminder(-3 * DAY, ("applicant",), "reminder_information_requested"),),
          ),)),
    State(name="awaiting_pairing", kind=StateKind.WAITING, stage="Pairing",
          staff_label="Eligible — awaiting pairing",
          applicant_label="Eligible — we are finding your partner city",
          future_label="Pairing", on_enter=(Hook.RESET_PAIRING,)),
    proposal_state(applicant_label="A partner city is proposed — please respond"),
    signing_state(sign_label="Sign the Partnership Agreement",
                      future_label="Partnership Agreement"),
    State(name="cooperation_active", kind=StateKind.ACTIVE, stage="Cooperation",
          staff_label="Cooperation active", applicant_label="Cooperation under way",
          future_label="18 months of cooperation", on_enter=(Hook.START_COOPERATION,)),
    State(name="lap_submission", kind=StateKind.APPLICANT_ACTION, stage="Local Action Plan",
          staff_label="Local Action Plan due", applicant_label="Submit your Local Action Plan",
          future_label="Local Action Plan"),
    State(name="lap_review", kind=StateKind.REVIEW, stage="Local Action Plan",
          staff_label="Local Action Plan in review",
          applicant_label="Local Action Plan submitted — in review"),
    State(name="completed", kind=StateKind.SUCCESS, stage="Completed",
          staff_label="Completed", applicant_label="Completed",
          future_label="Completed", on_enter=(Hook.START_FOLLOW_UP,)),
    State(name="ineligible", kind=StateKind.CLOSED, stage="Eligibility",
          staff_label="Ineligible", applicant_label="Not eligible"),
    State(name="withdrawn", kind=StateKind.CLOSED, stage="Application",
          staff_label="Withdrawn", applicant_label="Withdrawn"),
    State(name="terminated", kind=StateKind.CLOSED, stage="Cooperation",
          staff_label="Terminated", applicant_label="Cooperation ended early"),
)

_LIVE = tuple(s.name for s in STATES if not s.kind.terminal)
_PAIRED_ONWARDS = ("pairing_proposed", "agreement_pending", "cooperation_active",
                   "lap_submission", "lap_review")

TRANSITIONS = (
    Transition(name="submit", purpose=Purpose.SUBMIT_APPLICATION,
               sources=("draft",), target="eligibility_review", roles=APPLICANT,
               label="Submit application",
               guards=("call_open", "sections_complete", "commitments_given"),
               effects=(Hook.STAMP_SUBMISSION,),
               notify=(Notify("application_submitted", ("applicant",)),)),
    Transition(name="declare_eligible", purpose=Purpose.DECLARE_ELIGIBLE,
               sources=("eligibility_review",), target="awaiting_pairing", roles=STAFF,
               label="Declare eligible", guards=("failed_rules_overridden",),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when an automatic rule failed."),),
               notify=(Notify("declared_eligible", ("applicant",)),)),
    Transition(name="declare_ineligible", purpose=Purpose.DECLARE_INELIGIBLE,
               sources=("eligibility_review",), target="ineligible", roles=STAFF,
               label="Declare ineligible", fields=(REASON,), style="warning",
               notify=(Notify("declared_ineligible", ("applicant",)),)),
    Transition(name="request_information", purpose=Purpose.REQUEST_INFORMATION,
               sources=("eligibility_review",), target="information_requested", roles=STAFF,
               label="Request information", guards=("response_deadline_ahead",),
               style="secondary", effects=(Hook.FLAG_SECTIONS,),
               fields=(Field("message", "What do you need from the applicant?"),
                       Field("response_deadline", "Response deadline", type="datetime"),
                       SECTIONS),
               notify=(Notify("information_requested", ("applicant",),
                              deadline="information_response"),)),
    Transition(name="provide_information", purpose=Purpose.PROVIDE_INFORMATION,
               sources=("information_requested",), target="eligibility_review",
               roles=APPLICANT, label="Send my answer", fields=(Field("answer", "Your answer"),),
               notify=(Notify("information_provided", ("coordinator",)),)),
    Transition(name="propose_pairing", purpose=Purpose.PROPOSE_PARTNER,
               sources=("awaiting_pairing",), target="pairing_proposed", roles=STAFF,
               label="Propose a partner city", guards=("partner_available",),
               effects=(Hook.SET_PARTNER,), fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing"),
    # A further partner restarts the time to respond: the newcomer gets the full ten days.
    Transition(name="add_partner", purpose=Purpose.ADD_PARTNER,
               sources=("pairing_proposed",), target="pairing_proposed", roles=STAFF,
               label="Add another partner city", guards=("partner_available",),
               effects=(Hook.ADD_PARTNER,), fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing", style="secondary"),
    Transition(name="remove_partner", purpose=Purpose.REMOVE_PARTNER,
               sources=("pairing_proposed",), target="awaiting_pairing", roles=STAFF,
               label="Remove a partner city", guards=("partner_on_case",),
               fields=(PARTNER_CITY,), drops_party=True,
               notify=(Notify("pairing_declined", ("parties",)),),
               screen="pairing", style="warning"),
    Transition(name="accept_pairing", purpose=Purpose.ACCEPT_PARTNER,
               sources=("pairing_proposed",), target="agreement_pending", roles=PARTIES,
               label="Accept the pairing", each_party="accepted_pairing",
               notify=(Notify("agreement_to_sign", ("parties",),
                              deadline="agreement_signature"),)),
    # One of several partners declining leaves the others paired; the last one ends it.
    Transition(name="decline_pairing", purpose=Purpose.DECLINE_PARTNER,
               sources=("pairing_proposed",), target="awaiting_pairing", roles=PARTIES,
               label="Decline the pairing", fields=(REASON,), style="warning",
               drops_party=True,
               notify=(Notify("pairing_declined", ("parties", "coordinator")),)),
    Transition(name="sign", purpose=Purpose.SIGN_AGREEMENT,
               sources=("agreement_pending",), target="cooperation_active", roles=PARTIES,
               label="Sign the Partnership Agreement", each_party="signed_agreement",
               guards=("signature_recorded",), fields=SIGNATURE,
               notify=(Notify("cooperation_started", ("parties",)),),
               screen="agreement"),
    Transition(name="cancel_pairing", purpose=Purpose.CANCEL_PAIRING,
               sources=("agreement_pending",), target="awaiting_pairing", roles=STAFF,
               label="Cancel the pairing", fields=(REASON,), style="warning",
               notify=(Notify("pairing_cancelled", ("parties",)),)),
    Transition(name="close_cooperation", purpose=Purpose.CLOSE_COOPERATION,
               sources=("cooperation_active",), target="lap_submission", roles=STAFF_OR_SYSTEM,
               label="Close the cooperation period", automatic=True,
               guards=("cooperation_period_elapsed", "periodic_reports_submitted"),
               notify=(STATE_CHANGED,)),
    # The plan can be handed in as soon as the period ends, before the sweep closes it.
    Transition(name="submit_lap", purpose=Purpose.SUBMIT_PLAN,
               sources=("cooperation_active", "lap_submission"), target="lap_review",
               roles=APPLICANT, label="Submit the Local Action Plan",
               guards=("cooperation_period_elapsed", "periodic_reports_submitted",
                       "plan_complete", "final_report_submitted", "plan_version_given"),
               fields=PLAN_VERSION,
               notify=(Notify("lap_submitted", ("applicant", "coordinator")),),
               screen="plan"),
    Transition(name="approve_lap", purpose=Purpose.APPROVE_PLAN,
               sources=("lap_review",), target="completed", roles=STAFF,
               label="Approve the Local Action Plan",
               notify=(Notify("lap_approved", ("parties",)),),
               screen="plan"),
    Transition(name="request_lap_revision", purpose=Purpose.REVISE_PLAN,
               sources=("lap_review",), target="lap_submission", roles=STAFF,
               label="Ask for a revision", style="secondary",
               fields=(Field("comments", "What should change?"),
                       Field("response_deadline", "New deadline", type="datetime")),
               guards=("response_deadline_ahead",),
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
               sources=("ineligible",), target="eligibility_review", roles=(Role.ADMIN,),
               label="Re-open", fields=(REASON,), style="secondary", notify=(STATE_CHANGED,)),
)

WORKFLOW = Workflow(
    kind="city-to-city",
    title="IUC city-to-city cooperation",
    initial="draft",
    states=STATES,
    transitions=TRANSITIONS,
    guards=GUARDS,
    hooks=HOOKS,
    vocabulary=VOCABULARY,
)
