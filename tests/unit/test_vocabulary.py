"""Each call kind's vocabulary, the assessment by several evaluators, and the rule that pages
ask a definition's vocabulary instead of testing a call kind's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflows import get_workflow, vocabularies, vocabulary, workflows
from workflows.lap import LAP, ROADMAP
from workflows.scoring import assess
from workflows.vocabulary import referrals

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CITY, REGION = vocabulary("city-to-city"), vocabulary("region-to-region")


def test_every_definition_declares_a_vocabulary():
    assert set(vocabularies()) == set(workflows())
    for kind, wf in workflows().items():
        assert wf.vocabulary is not None, kind
        assert wf.validate() == []


def test_the_city_call_speaks_of_cities_a_partnership_and_a_local_action_plan():
    assert (CITY.applicant_noun, CITY.partner_noun, CITY.partner_kind) == \
        ("city", "partner city", "city")
    assert CITY.plan_name == "Local Action Plan" and CITY.plan is LAP
    assert CITY.agreement_name == "Partnership Agreement"
    assert CITY.applicant_types == ("city", "group") and CITY.review_types == ("metropolitan",)
    assert [c.key for c in CITY.commitments] == ["cooperate_18_months", "allocate_resources",
                                                 "develop_lap", "report_progress"]
    assert not CITY.criteria


def test_the_region_call_speaks_of_regions_a_cooperation_and_a_roadmap():
    assert (REGION.applicant_noun, REGION.partner_noun, REGION.partner_kind) == \
        ("region", "partner region", "region")
    assert REGION.plan_name == "joint regional innovation roadmap" and REGION.plan is ROADMAP
    assert REGION.agreement_name == "Cooperation Agreement"
    assert REGION.applicant_types == ("region", "province")
    labels = " ".join(REGION.commitment_labels(12).values())
    assert "partner region for at least 12 months" in labels
    assert "Local Action Plan" not in labels and "partner city" not in labels
    assert [(c.key, c.threshold) for c in REGION.criteria] == [
        ("smart_specialisation", 3), ("joint_projects", 3), ("business_opportunities", 2)]
    assert REGION.total_threshold == 9 and REGION.min_evaluators == 2


def test_each_kind_points_the_others_applicants_to_its_own_calls():
    assert referrals(vocabularies(), "city-to-city") == {
        "region": ("region-to-region", "a region-to-region call"),
        "province": ("region-to-region", "a region-to-region call")}
    assert referrals(vocabularies(), "region-to-region") == {
        t: ("city-to-city", "a city-to-city call") for t in ("city", "group", "metropolitan")}


def test_the_final_plan_can_be_submitted_from_the_cooperation_once_the_period_ends():
    for kind in workflows():
        wf = get_workflow(kind)
        submit = next(t for t in wf.transitions if "plan_complete" in t.guards)
        assert "cooperation_active" in submit.sources
        assert "cooperation_period_elapsed" in submit.guards


# -- several evaluators ---------------------------------------------------------------------

def test_means_and_spreads_of_two_evaluators():
    found = assess(REGION.criteria, REGION.total_threshold, {
        "Clara": {"smart_specialisation": 4, "joint_projects": 5, "business_opportunities": 3},
        "Luis": {"smart_specialisation": 3, "joint_projects": 2, "business_opportunities": 2},
    }, min_evaluators=2)
    assert found.ready and found.evaluators == 2
    assert (found.criteria["joint_projects"].mean, found.criteria["joint_projects"].spread) \
        == (3.5, 3)
    assert (found.total.mean, found.total.spread) == (9.5, 5)
    assert found.below == [] and found.missing == []


def test_one_evaluator_is_not_enough_and_a_partial_set_is_named():
    found = assess(REGION.criteria, REGION.total_threshold, {
        "Clara": {"smart_specialisation": 4, "joint_projects": 5, "business_opportunities": 3},
        "Luis": {"smart_specialisation": 3},
    }, min_evaluators=2)
    assert not found.ready and found.evaluators == 1
    assert list(map(str, found.missing)) == ["Not every criterion is scored by Luis.",
                             "2 evaluators must score the application; 1 has so far."]
    assert found.criteria["smart_specialisation"].mean == 4  # only complete sets count


def test_thresholds_are_judged_on_the_means():
    found = assess(REGION.criteria, REGION.total_threshold, {
        "Clara": {"smart_specialisation": 4, "joint_projects": 3, "business_opportunities": 2},
        "Luis": {"smart_specialisation": 4, "joint_projects": 2, "business_opportunities": 2},
    }, min_evaluators=2)
    assert list(map(str, found.below)) == [
        "Potential to leverage joint new projects (mean 2.5 of 5, at least 3 needed)",
        "the total (mean 8.5 of 15, at least 9 needed)"]


def test_no_scores_yet():
    found = assess(REGION.criteria, REGION.total_threshold, {}, min_evaluators=3)
    assert list(map(str, found.missing)) == [
        "3 evaluators must score the application; 0 have so far."]
    assert found.total.mean is None and found.below == []


# -- no call kind's name in the web app ----------------------------------------------------

KINDS = "|".join(map(re.escape, workflows()))
KIND_LITERAL = re.compile(rf"""["'](?:{KINDS})["']""")


def test_no_page_or_module_of_the_web_app_tests_a_call_kinds_name():
    found = []
    for folder in ("webapp", "templates", "tasks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt") or "translations" in path.parts:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if KIND_LITERAL.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "Ask the definition's vocabulary instead:\n" + "\n".join(found)
