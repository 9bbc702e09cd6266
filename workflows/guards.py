"""Named guards shared by the workflow definitions.

Each guard looks only at the case snapshot and the actor's payload and returns None when it
holds, or a sentence the person in front of the screen understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflows.engine import CaseFacts, Guard

PROGRAMME_TZ = ZoneInfo("Europe/Brussels")


def brussels(dt: datetime) -> str:
    """A time as the programme states it: Brussels time, to the minute."""
    return dt.astimezone(PROGRAMME_TZ).strftime("%d %B %Y, %H:%M") + " Brussels time"


def _call_open(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if f.call_opens_at and f.now < f.call_opens_at:
        return f"The call opens on {brussels(f.call_opens_at)}."
    if f.extension_until and f.now <= f.extension_until:
        return None
    if f.call_closes_at and f.now > f.call_closes_at:
        if f.extension_until:
            return f"Your extension ended on {brussels(f.extension_until)}."
        return (f"The call closed on {brussels(f.call_closes_at)}; "
                "submissions are no longer accepted.")
    return None


def _sections_complete(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if f.missing_sections:
        return "Complete these sections first: " + ", ".join(f.missing_sections) + "."
    return None


def _commitments_given(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if f.missing_commitments:
        return "Give these commitments first: " + ", ".join(f.missing_commitments) + "."
    return None


def _failed_rules_overridden(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if f.failed_rules and not str(p.get("override_reason") or "").strip():
        return ("These eligibility rules failed: " + ", ".join(f.failed_rules)
                + ". Give an override reason to declare the case eligible anyway.")
    return None


def _response_deadline_ahead(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    due = p.get("response_deadline")
    if isinstance(due, datetime) and due <= f.now:
        return "The response deadline must be in the future."
    return None


def _partner_available(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    partner = p.get("partner")
    noun = f.extra.get("partner_noun") or "partner"
    if not partner:
        return f"Choose a {noun}."
    kind = f.extra.get("partner_kind")
    if kind and partner.get("kind") != kind:
        return (f"{partner.get('name')} is not a {noun}: this call pairs each application "
                f"with a {noun}.")
    regions = f.extra.get("call_partner_regions") or []
    if regions and partner.get("region") not in regions:
        return (f"{partner.get('name')} is in {partner.get('region')}, a region this call does "
                "not offer.")
    if partner.get("on_case"):
        return f"{partner.get('name')} is already a partner of this case."
    if partner.get("busy"):
        return f"{partner.get('name')} is already in an active pairing of this call."
    return None


def _partner_on_case(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    partner = p.get("partner")
    noun = f.extra.get("partner_noun") or "partner"
    if not partner:
        return f"Choose the {noun} to remove."
    if not partner.get("on_case"):
        return f"{partner.get('name')} is not a partner of this case."
    return None


def _cooperation_period_elapsed(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    ends = f.extra.get("cooperation_ends_at")
    if ends is None:
        return "The cooperation has no start date yet."
    if f.now < ends:
        return f"The cooperation period runs until {brussels(ends)}."
    return None


def _periodic_reports_submitted(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    missing = f.extra.get("missing_reports") or []
    if missing:
        return "These progress reports are not yet submitted: " + ", ".join(missing) + "."
    return None


def _plan_complete(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    missing = f.extra.get("plan_missing") or []
    if missing:
        return "The plan is not complete: " + "; ".join(missing) + "."
    return None


def _final_report_submitted(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if not f.extra.get("final_report_submitted"):
        return "The final report is not yet submitted."
    return None


def _signature_recorded(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if not p.get("signature_id"):
        return "Sign on the agreement's page, where your signature is recorded."
    return None


def _plan_version_given(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    if not p.get("plan_hash"):
        return "Submit from the plan's page, where the version you submit is frozen."
    return None


def _scores_given(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    missing = f.extra.get("missing_scores") or []
    if missing:
        return " ".join(missing)
    return None


def _scores_meet_thresholds(f: CaseFacts, p: Mapping[str, Any]) -> str | None:
    below = f.extra.get("scores_below_threshold") or []
    if below and not str(p.get("override_reason") or "").strip():
        return ("The mean scores are below the threshold: " + ", ".join(below)
                + ". Give an override reason to select the application anyway.")
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
              "every periodic progress report is submitted"),
        Guard("plan_complete", _plan_complete, "the action plan or roadmap is complete"),
        Guard("final_report_submitted", _final_report_submitted,
              "the final report is submitted"),
        Guard("signature_recorded", _signature_recorded,
              "a signature bound to the current agreement is recorded", needs_input=True),
        Guard("plan_version_given", _plan_version_given,
              "the submitted version of the plan is frozen with its hash", needs_input=True),
        Guard("scores_given", _scores_given,
              "enough evaluators have scored every criterion"),
        Guard("scores_meet_thresholds", _scores_meet_thresholds,
              "the mean scores meet the thresholds, or an override reason is given",
              needs_input=True),
    )
}
