"""Named guards shared by the workflow definitions.

Each guard looks only at the case snapshot and the actor's payload and returns None when it
holds, or a Refusal: a message id marked for translation, with its parameters, which pages say
in the reader's language and the API gives with a stable code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflows.engine import CaseFacts, Guard
from workflows.refusal import N_, PROGRAMME_TZ, Refusal, Term, brussels, refusal, terms

__all__ = ["GUARDS", "PROGRAMME_TZ", "brussels"]


def _call_open(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if f.call_opens_at and f.now < f.call_opens_at:
        return refusal("call_not_open", N_("The call opens on %(at)s."), at=f.call_opens_at)
    if f.extension_until and f.now <= f.extension_until:
        return None
    if f.call_closes_at and f.now > f.call_closes_at:
        if f.extension_until:
            return refusal("extension_ended", N_("Your extension ended on %(at)s."),
                           at=f.extension_until)
        return refusal("call_closed", N_("The call closed on %(at)s; submissions are no longer "
                                         "accepted."), at=f.call_closes_at)
    return None


def _sections_complete(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if f.missing_sections:
        return refusal("sections_incomplete", N_("Complete these sections first: %(sections)s."),
                       sections=terms(map(Term, f.missing_sections)))
    return None


def _commitments_given(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if f.missing_commitments:
        return refusal("commitments_missing",
                       N_("Give these commitments first: %(commitments)s."),
                       commitments=terms(f.missing_commitments))
    return None


def _failed_rules_overridden(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if f.failed_rules and not str(p.get("override_reason") or "").strip():
        return refusal("rules_failed", N_(
            "These eligibility rules failed: %(rules)s. Give an override reason to declare the "
            "case eligible anyway."), rules=terms(f.failed_rules))
    return None


def _response_deadline_ahead(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    due = p.get("response_deadline")
    if isinstance(due, datetime) and due <= f.now:
        return refusal("deadline_past", N_("The response deadline must be in the future."))
    return None


def _partner_available(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    partner = p.get("partner")
    noun = Term(f.extra.get("partner_noun") or "partner")
    if not partner:
        return refusal("partner_missing", N_("Choose a %(partner)s."), partner=noun)
    kind = f.extra.get("partner_kind")
    name = partner.get("name")
    if kind and partner.get("kind") != kind:
        return refusal("partner_wrong_kind", N_(
            "%(name)s is not a %(partner)s: this call pairs each application with a "
            "%(partner)s."), name=name, partner=noun)
    regions = f.extra.get("call_partner_regions") or []
    if regions and partner.get("region") not in regions:
        return refusal("partner_region_not_offered", N_(
            "%(name)s is in %(region)s, a region this call does not offer."),
            name=name, region=partner.get("region"))
    if partner.get("on_case"):
        return refusal("partner_on_case", N_("%(name)s is already a partner of this case."),
                       name=name)
    if partner.get("busy"):
        return refusal("partner_busy", N_(
            "%(name)s is already in an active pairing of this call."), name=name)
    return None


def _partner_on_case(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    partner = p.get("partner")
    noun = Term(f.extra.get("partner_noun") or "partner")
    if not partner:
        return refusal("partner_to_remove_missing", N_("Choose the %(partner)s to remove."),
                       partner=noun)
    if not partner.get("on_case"):
        return refusal("partner_not_on_case", N_("%(name)s is not a partner of this case."),
                       name=partner.get("name"))
    return None


def _cooperation_period_elapsed(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    ends = f.extra.get("cooperation_ends_at")
    if ends is None:
        return refusal("cooperation_not_started", N_("The cooperation has no start date yet."))
    if f.now < ends:
        return refusal("cooperation_running", N_("The cooperation period runs until %(at)s."),
                       at=ends)
    return None


def _periodic_reports_submitted(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    missing = f.extra.get("missing_reports") or []
    if missing:
        return refusal("reports_missing", N_(
            "These progress reports are not yet submitted: %(reports)s."),
            reports=terms(missing))
    return None


def _plan_complete(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    missing = f.extra.get("plan_missing") or []
    if missing:
        return refusal("plan_incomplete", N_("The plan is not complete: %(missing)s."),
                       missing=terms(missing, "; "))
    return None


def _final_report_submitted(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if not f.extra.get("final_report_in"):
        return refusal("final_report_missing", N_("The final report is not yet submitted."))
    return None


def _signature_recorded(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if not p.get("signature_id"):
        return refusal("signature_missing", N_(
            "Sign on the agreement's page, where your signature is recorded."))
    return None


def _plan_version_given(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    if not p.get("plan_hash"):
        return refusal("plan_version_missing", N_(
            "Submit from the plan's page, where the version you submit is frozen."))
    return None


def _scores_given(f: CaseFacts, p: Mapping[str, Any]) -> tuple[Refusal, ...] | None:
    # each missing score is a sentence of its own (see workflows.scoring)
    return tuple(f.extra.get("missing_scores") or ()) or None


def _scores_meet_thresholds(f: CaseFacts, p: Mapping[str, Any]) -> Refusal | None:
    below = f.extra.get("scores_below_threshold") or []
    if below and not str(p.get("override_reason") or "").strip():
        return refusal("scores_below_threshold", N_(
            "The mean scores are below the threshold: %(below)s. Give an override reason to "
            "select the application anyway."), below=terms(below))
    return None


GUARDS: dict[str, Guard] = {
    g.name: g
    for g in (
        Guard("call_open", _call_open, "the call is open, or the applicant's extension runs"),
        Guard("sections_complete", _sections_complete, "every required section is complete"),
        Guard("commitments_given", _commitments_given, "every commitment is declared"),
        Guard("failed_rules_overridden", _failed_rules_overridden,
              "every failed eligibility rule has an override reason", needs_input=True),
        Guard("response_deadline_ahead", _response_deadline_ahead,
              "the response deadline is in the future", needs_input=True),
        Guard("partner_available", _partner_available,
              "the partner is of the kind the call pairs, in a region it offers and not "
              "already paired",
              needs_input=True),
        Guard("partner_on_case", _partner_on_case, "the partner named is one of the case's",
              needs_input=True),
        Guard("cooperation_period_elapsed", _cooperation_period_elapsed,
              "the cooperation period has run its full length"),
        Guard("periodic_reports_submitted", _periodic_reports_submitted,
              "every periodic progress report is submitted", needs=("missing_reports",)),
        Guard("plan_complete", _plan_complete, "the action plan or roadmap is complete",
              needs=("plan_missing",)),
        Guard("final_report_submitted", _final_report_submitted,
              "the final report is submitted", needs=("final_report_in",)),
        Guard("signature_recorded", _signature_recorded,
              "a signature bound to the current agreement is recorded", needs_input=True),
        Guard("plan_version_given", _plan_version_given,
              "the submitted version of the plan is frozen with its hash", needs_input=True),
        Guard("scores_given", _scores_given,
              "enough evaluators have scored every criterion", needs=("missing_scores",)),
        Guard("scores_meet_thresholds", _scores_meet_thresholds,
              "the mean scores meet the thresholds, or an override reason is given",
              needs_input=True, needs=("scores_below_threshold",)),
    )
}
