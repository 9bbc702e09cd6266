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
    Notify,
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

#: Hooks the operations layer runs when a case enters a state.
HOOKS = frozenset({
    "run_eligibility",  # store the automatic eligibility verdicts
    "reset_pairing",  # the pairing is void: forget acceptances and signatures
    "generate_agreement",  # render the Partnership Agreement, version it, hash it
    "start_cooperation",  # fix the start date and create the deliverable schedule
    "start_follow_up",  # open the follow-up report deadline
    "stamp_submission",  # record when the application was submitted
    "set_partner",  # attach the proposed partner city to the case, as its lead partner
    "add_partner",  # attach one more partner city to a proposed pairing
    "flag_sections",  # open the sections an information request names for editing
})

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

def pairing_proposed(applicant_label: str) -> State:
    """Both parties have ten days to accept a proposed partner, then the coordinator is told."""
    return State(
        "pairing_proposed", StateKind.WAITING, "Pairing proposed", applicant_label, "Pairing",
        deadlines=(DeadlineSpec(
            "pairing_response", "Accept the proposed pairing", Anchor.ENTERED, after=10 * DAY,
            reminders=(Reminder(-5 * DAY, ("parties",), "reminder_pairing_proposed",
                                unless_done_by="accepted_pairing"),
                       Reminder(0 * DAY, ("coordinator",), "escalation_pairing")),
        ),))


def agreement_pending(sign_label: str, future_label: str) -> State:
    """Thirty days to sign, with a weekly reminder to each party that has not signed yet."""
    return State(
        "agreement_pending", StateKind.WAITING, "Agreement awaiting signatures", sign_label,
        "Agreement", future_label=future_label, on_enter=("generate_agreement",),
        deadlines=(DeadlineSpec(
            "agreement_signature", sign_label, Anchor.ENTERED, after=30 * DAY,
            reminders=tuple(
                Reminder(-days * DAY, ("parties",), "reminder_agreement",
                         unless_done_by="signed_agreement")
                for days in (23, 16, 9, 2)
            ) + (Reminder(0 * DAY, ("coordinator",), "escalation_agreement"),),
        ),))


STATES = (
    State("draft", StateKind.DRAFT, "Draft", "Draft — not yet submitted", "Application",
          future_label="Apply", editable_by_applicant=True,
          deadlines=(DeadlineSpec(
              "call_closing", "Call closes", Anchor.CALL_CLOSES,
              reminders=(Reminder(-7 * DAY, ("applicant",), "reminder_call_closing"),
                         Reminder(-1 * DAY, ("applicant",), "reminder_call_closing")),
          ),)),
    State("eligibility_review", StateKind.REVIEW, "Eligibility review",
          "Submitted — eligibility being checked", "Eligibility",
          future_label="Eligibility check", on_enter=("run_eligibility",)),
    State("information_requested", StateKind.APPLICANT_ACTION, "Information requested",
          "Information requested from you", "Eligibility", editable_by_applicant=True,
          deadlines=(DeadlineSpec(
              "information_response", "Answer the information request", Anchor.PAYLOAD,
              payload_field="response_deadline",
              reminders=(Reminder(-3 * DAY, ("applicant",), "reminder_information_requested"),),
          ),)),
    State("awaiting_pairing", StateKind.WAITING, "Eligible — awaiting pairing",
          "Eligible — we are finding your partner city", "Pairing",
          future_label="Pairing", on_enter=("reset_pairing",)),
    pairing_proposed("A partner city is proposed — please respond"),
    agreement_pending("Sign the Partnership Agreement", "Partnership Agreement"),
    State("cooperation_active", StateKind.ACTIVE, "Cooperation active",
          "Cooperation under way", "Cooperation",
          future_label="18 months of cooperation", on_enter=("start_cooperation",)),
    State("lap_submission", StateKind.APPLICANT_ACTION, "Local Action Plan due",
          "Submit your Local Action Plan", "Local Action Plan",
          future_label="Local Action Plan"),
    State("lap_review", StateKind.REVIEW, "Local Action Plan in review",
          "Local Action Plan submitted — in review", "Local Action Plan"),
    State("completed", StateKind.SUCCESS, "Completed", "Completed", "Completed",
          future_label="Completed", on_enter=("start_follow_up",)),
    State("ineligible", StateKind.CLOSED, "Ineligible", "Not eligible", "Eligibility"),
    State("withdrawn", StateKind.CLOSED, "Withdrawn", "Withdrawn", "Application"),
    State("terminated", StateKind.CLOSED, "Terminated", "Cooperation ended early", "Cooperation"),
)

_LIVE = tuple(s.name for s in STATES if not s.kind.terminal)
_PAIRED_ONWARDS = ("pairing_proposed", "agreement_pending", "cooperation_active",
                   "lap_submission", "lap_review")

TRANSITIONS = (
    Transition("submit", ("draft",), "eligibility_review", APPLICANT, "Submit application",
               guards=("call_open", "sections_complete", "commitments_given"),
               effects=("stamp_submission",),
               notify=(Notify("application_submitted", ("applicant",)),)),
    Transition("declare_eligible", ("eligibility_review",), "awaiting_pairing", STAFF,
               "Declare eligible", guards=("failed_rules_overridden",),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when an automatic rule failed."),),
               notify=(Notify("declared_eligible", ("applicant",)),)),
    Transition("declare_ineligible", ("eligibility_review",), "ineligible", STAFF,
               "Declare ineligible", fields=(REASON,), style="warning",
               notify=(Notify("declared_ineligible", ("applicant",)),)),
    Transition("request_information", ("eligibility_review",), "information_requested", STAFF,
               "Request information", guards=("response_deadline_ahead",), style="secondary",
               effects=("flag_sections",),
               fields=(Field("message", "What do you need from the applicant?"),
                       Field("response_deadline", "Response deadline", type="datetime"),
                       SECTIONS),
               notify=(Notify("information_requested", ("applicant",),
                              deadline="information_response"),)),
    Transition("provide_information", ("information_requested",), "eligibility_review",
               APPLICANT, "Send my answer", fields=(Field("answer", "Your answer"),),
               notify=(Notify("information_provided", ("coordinator",)),)),
    Transition("propose_pairing", ("awaiting_pairing",), "pairing_proposed", STAFF,
               "Propose a partner city", guards=("partner_available",), effects=("set_partner",),
               fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing"),
    # A further partner restarts the time to respond: the newcomer gets the full ten days.
    Transition("add_partner", ("pairing_proposed",), "pairing_proposed", STAFF,
               "Add another partner city", guards=("partner_available",),
               effects=("add_partner",), fields=(PARTNER_CITY,),
               notify=(Notify("pairing_proposed", ("parties",), deadline="pairing_response"),),
               screen="pairing", style="secondary"),
    Transition("remove_partner", ("pairing_proposed",), "awaiting_pairing", STAFF,
               "Remove a partner city", guards=("partner_on_case",), fields=(PARTNER_CITY,),
               drops_party=True, notify=(Notify("pairing_declined", ("parties",)),),
               screen="pairing", style="warning"),
    Transition("accept_pairing", ("pairing_proposed",), "agreement_pending", PARTIES,
               "Accept the pairing", each_party="accepted_pairing",
               notify=(Notify("agreement_to_sign", ("parties",),
                              deadline="agreement_signature"),)),
    # One of several partners declining leaves the others paired; the last one ends it.
    Transition("decline_pairing", ("pairing_proposed",), "awaiting_pairing", PARTIES,
               "Decline the pairing", fields=(REASON,), style="warning", drops_party=True,
               notify=(Notify("pairing_declined", ("parties", "coordinator")),)),
    Transition("sign", ("agreement_pending",), "cooperation_active", PARTIES,
               "Sign the Partnership Agreement", each_party="signed_agreement",
               guards=("signature_recorded",), fields=SIGNATURE,
               notify=(Notify("cooperation_started", ("parties",)),),
               screen="agreement"),
    Transition("cancel_pairing", ("agreement_pending",), "awaiting_pairing", STAFF,
               "Cancel the pairing", fields=(REASON,), style="warning",
               notify=(Notify("pairing_cancelled", ("parties",)),)),
    Transition("close_cooperation", ("cooperation_active",), "lap_submission", STAFF_OR_SYSTEM,
               "Close the cooperation period", automatic=True,
               guards=("cooperation_period_elapsed", "periodic_reports_submitted"),
               notify=(STATE_CHANGED,)),
    # The plan can be handed in as soon as the period ends, before the sweep closes it.
    Transition("submit_lap", ("cooperation_active", "lap_submission"), "lap_review", APPLICANT,
               "Submit the Local Action Plan",
               guards=("cooperation_period_elapsed", "periodic_reports_submitted",
                       "plan_complete", "final_report_submitted", "plan_version_given"),
               fields=PLAN_VERSION,
               notify=(Notify("lap_submitted", ("applicant", "coordinator")),),
               screen="plan"),
    Transition("approve_lap", ("lap_review",), "completed", STAFF, "Approve the Local Action Plan",
               notify=(Notify("lap_approved", ("parties",)),),
               screen="plan"),
    Transition("request_lap_revision", ("lap_review",), "lap_submission", STAFF,
               "Ask for a revision", style="secondary",
               fields=(Field("comments", "What should change?"),
                       Field("response_deadline", "New deadline", type="datetime")),
               guards=("response_deadline_ahead",),
               notify=(Notify("lap_revision_requested", ("applicant",),
                              deadline=DELIVERABLE_DEADLINE),),
               screen="plan"),
    Transition("withdraw", _LIVE, "withdrawn", APPLICANT, "Withdraw", fields=(REASON,),
               style="warning", notify=(Notify("case_withdrawn", ("applicant", "coordinator")),)),
    Transition("terminate", _PAIRED_ONWARDS, "terminated", STAFF, "Terminate",
               fields=(REASON,), style="warning",
               notify=(Notify("case_terminated", ("parties",)),)),
    Transition("reopen", ("ineligible",), "eligibility_review", (Role.ADMIN,), "Re-open",
               fields=(REASON,), style="secondary", notify=(STATE_CHANGED,)),
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
