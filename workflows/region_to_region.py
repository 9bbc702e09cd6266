"""The region-to-region innovation call: EU regions apply, are scored on three criteria,
paired with a partner region, cooperate for 12 facilitated months and deliver a joint
regional innovation roadmap."""

from __future__ import annotations

from datetime import timedelta

from workflows.city_to_city import (
    APPLICANT,
    HOOKS,
    PARTIES,
    REASON,
    STAFF,
    STAFF_OR_SYSTEM,
    STATE_CHANGED,
)
from workflows.engine import (
    Anchor,
    DeadlineSpec,
    Field,
    Notify,
    Reminder,
    Role,
    State,
    StateKind,
    Transition,
    Workflow,
)
from workflows.guards import GUARDS

#: the three selection criteria, each scored 0–5, with the lowest acceptable score
CRITERIA: dict[str, tuple[str, int]] = {
    "smart_specialisation": ("Support for a smart-specialisation strategy (RIS3)", 3),
    "joint_projects": ("Potential to leverage joint new projects", 3),
    "business_opportunities": ("Potential to create business opportunities", 2),
}
#: the lowest acceptable total of the three scores
TOTAL_THRESHOLD = 9

DAY = timedelta(days=1)

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
    State("scoring", StateKind.REVIEW, "Scoring", "Eligible — being assessed", "Assessment",
          future_label="Assessment"),
    State("awaiting_pairing", StateKind.WAITING, "Selected — awaiting pairing",
          "Selected — we are finding your partner region", "Pairing",
          future_label="Pairing", on_enter=("reset_pairing",)),
    State("pairing_proposed", StateKind.WAITING, "Pairing proposed",
          "A partner region is proposed — please respond", "Pairing",
          deadlines=(DeadlineSpec(
              "pairing_response", "Accept the proposed pairing", Anchor.ENTERED, after=10 * DAY,
              reminders=(Reminder(-5 * DAY, ("parties",), "reminder_pairing_proposed",
                                  unless_done_by="accepted_pairing"),
                         Reminder(0 * DAY, ("coordinator",), "escalation_pairing")),
          ),)),
    State("agreement_pending", StateKind.WAITING, "Agreement awaiting signatures",
          "Sign the cooperation agreement", "Agreement",
          future_label="Cooperation agreement", on_enter=("generate_agreement",),
          deadlines=(DeadlineSpec(
              "agreement_signature", "Sign the cooperation agreement", Anchor.ENTERED,
              after=30 * DAY,
              reminders=tuple(
                  Reminder(-days * DAY, ("parties",), "reminder_agreement",
                           unless_done_by="signed_agreement")
                  for days in (23, 16, 9, 2)
              ) + (Reminder(0 * DAY, ("coordinator",), "escalation_agreement"),),
          ),)),
    State("cooperation_active", StateKind.ACTIVE, "Facilitated cooperation",
          "Facilitated cooperation under way", "Cooperation",
          future_label="12 months of facilitated cooperation", on_enter=("start_cooperation",)),
    State("roadmap_submission", StateKind.APPLICANT_ACTION, "Roadmap due",
          "Submit your joint regional innovation roadmap", "Roadmap",
          future_label="Joint innovation roadmap"),
    State("roadmap_review", StateKind.REVIEW, "Roadmap in review",
          "Roadmap submitted — in review", "Roadmap"),
    State("completed", StateKind.SUCCESS, "Completed", "Completed", "Completed",
          future_label="Completed", on_enter=("start_follow_up",)),
    State("ineligible", StateKind.CLOSED, "Ineligible", "Not eligible", "Eligibility"),
    State("not_selected", StateKind.CLOSED, "Not selected", "Not selected", "Assessment"),
    State("withdrawn", StateKind.CLOSED, "Withdrawn", "Withdrawn", "Application"),
    State("terminated", StateKind.CLOSED, "Terminated", "Cooperation ended early", "Cooperation"),
)

_LIVE = tuple(s.name for s in STATES if not s.kind.terminal)
_PAIRED_ONWARDS = ("pairing_proposed", "agreement_pending", "cooperation_active",
                   "roadmap_submission", "roadmap_review")

TRANSITIONS = (
    Transition("submit", ("draft",), "eligibility_review", APPLICANT, "Submit application",
               guards=("call_open", "sections_complete", "commitments_given"),
               effects=("stamp_submission",),
               notify=(Notify("application_submitted", ("applicant",)),)),
    Transition("declare_eligible", ("eligibility_review",), "scoring", STAFF,
               "Declare eligible", guards=("failed_rules_overridden",),
               fields=(Field("override_reason", "Override reason", required=False,
                             hint="Needed only when an automatic rule failed."),),
               notify=(STATE_CHANGED,)),
    Transition("declare_ineligible", ("eligibility_review",), "ineligible", STAFF,
               "Declare ineligible", fields=(REASON,), style="warning",
               notify=(Notify("declared_ineligible", ("applicant",)),)),
    Transition("request_information", ("eligibility_review",), "information_requested", STAFF,
               "Request information", guards=("response_deadline_ahead",), style="secondary",
               effects=("flag_sections",),
               fields=(Field("message", "What do you need from the applicant?"),
                       Field("response_deadline", "Response deadline", type="datetime")),
               notify=(Notify("information_requested", ("applicant",)),)),
    Transition("provide_information", ("information_requested",), "eligibility_review",
               APPLICANT, "Send my answer", fields=(Field("answer", "Your answer"),),
               notify=(Notify("information_provided", ("coordinator",)),)),
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
               effects=("set_partner",),
               notify=(Notify("pairing_proposed", ("parties",)),),
               screen="pairing"),
    Transition("accept_pairing", ("pairing_proposed",), "agreement_pending", PARTIES,
               "Accept the pairing", each_party="accepted_pairing",
               notify=(Notify("agreement_to_sign", ("parties",)),)),
    Transition("decline_pairing", ("pairing_proposed",), "awaiting_pairing", PARTIES,
               "Decline the pairing", fields=(REASON,), style="warning",
               notify=(Notify("pairing_declined", ("parties", "coordinator")),)),
    Transition("sign", ("agreement_pending",), "cooperation_active", PARTIES,
               "Sign the cooperation agreement", each_party="signed_agreement",
               guards=("signature_recorded",),
               notify=(Notify("cooperation_started", ("parties",)),),
               screen="agreement"),
    Transition("cancel_pairing", ("agreement_pending",), "awaiting_pairing", STAFF,
               "Cancel the pairing", fields=(REASON,), style="warning",
               notify=(Notify("pairing_cancelled", ("parties",)),)),
    Transition("close_cooperation", ("cooperation_active",), "roadmap_submission",
               STAFF_OR_SYSTEM, "Close the cooperation period", automatic=True,
               guards=("cooperation_period_elapsed", "periodic_reports_submitted"),
               notify=(STATE_CHANGED,)),
    Transition("submit_roadmap", ("roadmap_submission",), "roadmap_review", PARTIES,
               "Submit the joint roadmap",
               guards=("plan_complete", "final_report_submitted", "plan_version_given"),
               notify=(Notify("lap_submitted", ("applicant", "coordinator")),),
               screen="plan"),
    Transition("approve_roadmap", ("roadmap_review",), "completed", STAFF,
               "Approve the roadmap", notify=(Notify("lap_approved", ("parties",)),),
               screen="plan"),
    Transition("request_roadmap_revision", ("roadmap_review",), "roadmap_submission", STAFF,
               "Ask for a revision", style="secondary", guards=("response_deadline_ahead",),
               fields=(Field("comments", "What should change?"),
                       Field("response_deadline", "New deadline", type="datetime")),
               notify=(Notify("lap_revision_requested", ("applicant",)),),
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
)
