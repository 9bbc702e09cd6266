"""The engine and the city-to-city definition, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows import get_workflow, workflows
from workflows.engine import (
    Actor,
    Anchor,
    CaseFacts,
    DeadlineSpec,
    Role,
    State,
    StateKind,
    Transition,
    TransitionRefused,
    Workflow,
    deadline_due,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WF = get_workflow("city-to-city")
APPLICANT = Actor(Role.APPLICANT, party="applicant")
PARTNER = Actor(Role.PARTNER, party="partner")
COORD = Actor(Role.COORDINATOR)


def facts(state: str, **kw) -> CaseFacts:
    kw.setdefault("call_opens_at", NOW - timedelta(days=10))
    kw.setdefault("call_closes_at", NOW + timedelta(days=10))
    return CaseFacts(state=state, now=kw.pop("now", NOW), **kw)


SPEC_STATES = {"draft", "eligibility_review", "information_requested", "awaiting_pairing",
               "pairing_proposed", "agreement_pending", "cooperation_active", "lap_submission",
               "lap_review", "completed", "ineligible", "withdrawn", "terminated"}
SPEC_TRANSITIONS = {"submit", "withdraw", "declare_eligible", "declare_ineligible",
                    "request_information", "provide_information", "propose_pairing",
                    "add_partner", "remove_partner", "accept_pairing", "decline_pairing",
                    "sign", "cancel_pairing",
                    "close_cooperation", "submit_lap", "approve_lap", "request_lap_revision",
                    "terminate", "reopen"}


def test_every_definition_is_valid():
    for wf in workflows().values():
        assert wf.validate() == []


def test_city_to_city_has_every_state_and_transition_of_the_spec():
    assert {s.name for s in WF.states} == SPEC_STATES
    assert {t.name for t in WF.transitions} == SPEC_TRANSITIONS


def test_mermaid_names_every_state_and_transition():
    diagram = WF.mermaid()
    assert diagram.startswith("stateDiagram-v2")
    for s in SPEC_STATES:
        assert f" as {s}" in diagram
    assert "draft --> eligibility_review: submit (applicant)" in diagram
    assert "completed --> [*]" in diagram


def test_validate_finds_unreachable_dead_end_and_unknown_names():
    wf = Workflow(
        kind="broken", title="broken", initial="a",
        states=(State(name="a", kind=StateKind.DRAFT, staff_label="A", applicant_label="A",
                      stage="s"),
                State(name="b", kind=StateKind.REVIEW, staff_label="B", applicant_label="B",
                      stage="s"),
                State(name="island", kind=StateKind.REVIEW, staff_label="I", applicant_label="I",
                      stage="s", on_enter=("nope",))),
        transitions=(Transition(name="go", sources=("a",), target="b", roles=(Role.APPLICANT,),
                                label="Go", guards=("ghost",)),
                     Transition(name="mail", sources=("island",), target="a",
                                roles=(Role.COORDINATOR,), label="M")),
        guards={},
    )
    problems = "\n".join(wf.validate(templates=set()))
    assert "'island' cannot be reached" in problems
    assert "'b' is not terminal and has no way out" in problems
    assert "unknown guard 'ghost'" in problems
    assert "unknown hook 'nope'" in problems


def test_validate_reports_missing_email_templates():
    problems = WF.validate(templates={"application_submitted"})
    assert any("missing e-mail template 'declared_eligible'" in p for p in problems)
    assert WF.validate(templates=WF.templates()) == []


def test_validate_reports_a_mail_announcing_a_deadline_its_target_does_not_start():
    import dataclasses

    propose = WF.transition("propose_pairing")
    wrong = dataclasses.replace(propose, notify=(
        dataclasses.replace(propose.notify[0], deadline="agreement_signature"),))
    broken = dataclasses.replace(WF, transitions=tuple(
        wrong if t.name == "propose_pairing" else t for t in WF.transitions))
    assert any("announces deadline 'agreement_signature'" in p for p in broken.validate())
    # Every mail the definitions send about a deadline names one its target starts.
    announced = {n.template: n.deadline for t in WF.transitions for n in t.notify if n.deadline}
    assert announced == {"information_requested": "information_response",
                         "pairing_proposed": "pairing_response",
                         "agreement_to_sign": "agreement_signature",
                         "lap_revision_requested": "deliverable"}


def test_submit_refused_with_every_reason_at_once():
    f = facts("draft", missing_sections=["Contact person"],
              missing_commitments=["Report on progress"])
    [submit] = [o for o in WF.options(f, APPLICANT) if o.transition.name == "submit"]
    assert not submit.allowed
    assert any("Contact person" in r for r in map(str, submit.reasons))
    assert any("Report on progress" in r for r in map(str, submit.reasons))


def test_submit_after_deadline_is_refused_in_brussels_time():
    closes = datetime(2019, 3, 8, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Brussels (CET)
    opens = closes - timedelta(days=30)
    f = facts("draft", call_opens_at=opens, call_closes_at=closes,
              now=closes + timedelta(seconds=1))
    with pytest.raises(TransitionRefused) as exc:
        WF.plan(f, APPLICANT, "submit")
    assert "08 March 2019, 23:59 Brussels time" in str(exc.value.reasons[0])
    ok = WF.plan(facts("draft", call_opens_at=opens, call_closes_at=closes, now=closes),
                 APPLICANT, "submit")
    assert ok.target == "eligibility_review"


def test_extension_lets_one_applicant_submit_late():
    closes = NOW - timedelta(hours=1)
    f = facts("draft", call_closes_at=closes, extension_until=NOW + timedelta(hours=1))
    assert WF.plan(f, APPLICANT, "submit").moved


def test_roles_are_enforced():
    with pytest.raises(TransitionRefused, match="role"):
        WF.plan(facts("eligibility_review"), APPLICANT, "declare_eligible")
    assert [o.transition.name for o in WF.options(facts("eligibility_review"), APPLICANT)] == \
        ["withdraw"]


def test_failed_rule_needs_override_reason():
    f = facts("eligibility_review", failed_rules=["Population"])
    with pytest.raises(TransitionRefused, match="override reason"):
        WF.plan(f, COORD, "declare_eligible")
    effects = WF.plan(f, COORD, "declare_eligible", {"override_reason": "Census 2026 update"})
    assert effects.target == "awaiting_pairing"


def test_required_fields_are_named():
    with pytest.raises(TransitionRefused, match="Reason"):
        WF.plan(facts("eligibility_review"), COORD, "declare_ineligible", {"reason": "  "})


def test_information_request_starts_a_deadline_with_a_three_day_reminder():
    due = NOW + timedelta(days=14)
    effects = WF.plan(facts("eligibility_review"), COORD, "request_information",
                      {"message": "Send the letters", "response_deadline": due})
    [spec] = effects.deadlines_started
    assert deadline_due(spec, NOW, None, {"response_deadline": due}) == due
    assert [r.offset for r in spec.reminders] == [timedelta(days=-3)]
    with pytest.raises(TransitionRefused, match="future"):
        WF.plan(facts("eligibility_review"), COORD, "request_information",
                {"message": "x", "response_deadline": NOW - timedelta(days=1)})


def test_each_party_must_accept_before_the_case_moves():
    f = facts("pairing_proposed", parties=("applicant", "partner"))
    first = WF.plan(f, APPLICANT, "accept_pairing")
    assert not first.moved and first.target == "pairing_proposed"
    assert first.party_fact == ("applicant", "accepted_pairing")
    f.party_facts = {"applicant": {"accepted_pairing"}}
    with pytest.raises(TransitionRefused, match="already"):
        WF.plan(f, APPLICANT, "accept_pairing")
    last = WF.plan(f, PARTNER, "accept_pairing")
    assert last.moved and last.target == "agreement_pending"
    assert "generate_agreement" in last.hooks


def test_partner_must_be_in_an_offered_region_and_free():
    f = facts("awaiting_pairing", extra={"call_partner_regions": ["Asia"], "partner_kind": "city",
                                         "partner_noun": "partner city"})
    partner = {"id": 1, "name": "Rosario", "region": "Latin America and the Caribbean",
               "kind": "city", "busy": False}
    with pytest.raises(TransitionRefused, match="region this call does not offer"):
        WF.plan(f, COORD, "propose_pairing", {"partner": partner})
    partner.update(region="Asia", busy=True)
    with pytest.raises(TransitionRefused, match="already in an active pairing"):
        WF.plan(f, COORD, "propose_pairing", {"partner": partner})


def test_close_cooperation_is_automatic_only_when_the_period_and_reports_are_done():
    ends = NOW + timedelta(days=1)
    f = facts("cooperation_active", extra={"cooperation_ends_at": ends, "missing_reports": []})
    assert WF.automatic_due(f) is None
    f.now = ends
    assert WF.automatic_due(f).name == "close_cooperation"
    f.extra["missing_reports"] = ["Progress report 3"]
    assert WF.automatic_due(f) is None
    [opt] = [o for o in WF.options(f, COORD) if o.transition.name == "close_cooperation"]
    assert "Progress report 3" in str(opt.reasons[0])


def test_terminal_states_have_no_exit_but_admin_reopen():
    for s in WF.states:
        if s.kind.terminal:
            exits = WF.outgoing(s.name)
            assert all(t.roles == (Role.ADMIN,) for t in exits)
    assert [t.name for t in WF.outgoing("ineligible")] == ["reopen"]


def test_withdraw_from_every_live_state_and_terminate_from_pairing_on():
    live = {s.name for s in WF.states if not s.kind.terminal}
    assert set(WF.transition("withdraw").sources) == live
    assert "awaiting_pairing" not in WF.transition("terminate").sources
    assert "pairing_proposed" in WF.transition("terminate").sources


def test_unknown_transition_and_wrong_state_explain_themselves():
    with pytest.raises(TransitionRefused, match="no action called"):
        WF.plan(facts("draft"), APPLICANT, "fly")
    with pytest.raises(TransitionRefused, match="not possible now: the case is at “Draft”"):
        WF.plan(facts("draft"), COORD, "approve_lap")


def test_deadline_anchors():
    spec = DeadlineSpec("k", "K", Anchor.CALL_CLOSES, after=timedelta(hours=1))
    assert deadline_due(spec, NOW, NOW + timedelta(days=2), {}) == NOW + timedelta(days=2, hours=1)
    assert deadline_due(DeadlineSpec("k", "K", Anchor.ENTERED, after=timedelta(days=10)), NOW,
                        None, {}) == NOW + timedelta(days=10)
    assert deadline_due(DeadlineSpec("k", "K", Anchor.PAYLOAD, payload_field="x"), NOW, None,
                        {}) is None


def test_options_leave_input_guards_for_the_form_but_plan_judges_them():
    f = facts("awaiting_pairing", extra={"call_partner_regions": ["Asia"], "partner_kind": "city",
                                         "partner_noun": "partner city"})
    [propose] = [o for o in WF.options(f, COORD) if o.transition.name == "propose_pairing"]
    assert propose.allowed  # the partner is chosen in the form
    [judged] = [o for o in WF.options(f, COORD, {}) if o.transition.name == "propose_pairing"]
    assert not judged.allowed and "Choose a partner city." in map(str, judged.reasons)
    with pytest.raises(TransitionRefused, match="Choose a partner city"):
        WF.plan(f, COORD, "propose_pairing", {})


def test_a_partner_of_the_wrong_kind_is_refused():
    f = facts("awaiting_pairing", extra={
        "call_partner_regions": ["Latin America and the Caribbean"], "partner_kind": "city",
        "partner_noun": "partner city"})
    region = {"id": 1, "name": "Paraná", "region": "Latin America and the Caribbean",
              "kind": "region", "busy": False}
    with pytest.raises(TransitionRefused, match="Paraná is not a partner city"):
        WF.plan(f, COORD, "propose_pairing", {"partner": region})
    assert WF.plan(f, COORD, "propose_pairing", {"partner": {**region, "kind": "city"}}).moved
