"""The Local Action Plan's completeness rules and its fingerprint."""

from __future__ import annotations

import copy

import pytest

from workflows.lap import (
    SECTIONS,
    content_hash,
    missing_sections,
    problems,
    rows,
    section_problems,
    total,
)

pytestmark = pytest.mark.unit


def complete_plan() -> dict:
    return {
        "summary": {"summary": "A plan for clean buses.", "priority": "Urban mobility"},
        "context": {"context": "A port city.", "baseline": "12% of trips by bus."},
        "vision": {"vision": "Clean air.", "objectives": "Double bus trips by 2030."},
        "stakeholders": {"rows": [
            {"member": "Ana", "organisation": "City transport office",
             "sector": "public_administration"},
            {"member": "", "organisation": "University of Lyon", "sector": "academia"},
            {"member": "Marc", "organisation": "Chamber of commerce", "sector": "business"},
        ]},
        "actions": {"rows": [{"title": "Bus lanes", "objective": "Faster buses",
                              "lead": "Transport office", "partners": "", "start": "2026-01-01",
                              "end": "2026-12-31", "cost": 400000, "funding_source": "ERDF"}]},
        "pilots": {"rows": [{"title": "Electric bus line", "budget": 250000,
                             "funding_sources": "City budget, ERDF", "financing_model": "",
                             "expected_results": "One line electric"}]},
        "indicators": {"rows": [{"name": "Bus share of trips", "baseline": "12%",
                                 "target": "24%", "source": "Survey", "frequency": "Yearly"}]},
        "alignment": {"sdg_topics": ["sdg-11"], "sdgs": "SDG 11.2: transport for all."},
        "learned": {"learned": "Rosario's bus rapid transit planning."},
    }


def test_a_complete_plan_has_no_problems_and_optional_sections_may_stay_empty():
    plan = complete_plan()
    assert problems(plan) == []
    assert missing_sections(plan) == []
    for key in ("funding", "governance", "risks"):
        assert section_problems(plan, key) == []


def test_an_empty_plan_lists_every_required_section():
    found = problems({})
    required = [s for s in SECTIONS if s.required]
    assert missing_sections({}) == [s.title for s in required]
    assert "Summary and knowledge-sharing priority: Fill in “Summary of the plan”." in found
    assert any(p.startswith("Local stakeholder group: Name stakeholders from at least 3 "
                            "sectors (so far: none)") for p in found)
    assert "Actions: Describe at least one action with its title, objective and lead." in found


def test_stakeholders_need_three_distinct_sectors():
    plan = complete_plan()
    plan["stakeholders"]["rows"][2]["sector"] = "academia"
    assert section_problems(plan, "stakeholders") == [
        "Name stakeholders from at least 3 sectors (so far: public administration, academia)."]
    plan["stakeholders"]["rows"].append({"member": "", "organisation": "",
                                         "sector": "civil_society"})
    assert section_problems(plan, "stakeholders") == [
        "Give the name or organisation of every stakeholder."]


def test_empty_rows_do_not_count():
    plan = complete_plan()
    plan["actions"]["rows"] = [{"title": "", "objective": "", "lead": ""}]
    assert rows(plan, "actions") == []
    assert section_problems(plan, "actions") == [
        "Describe at least one action with its title, objective and lead."]


def test_an_action_cannot_end_before_it_starts():
    plan = complete_plan()
    plan["actions"]["rows"][0]["end"] = "2025-06-30"
    assert section_problems(plan, "actions") == ["The end of Bus lanes is before its start."]


def test_a_pilot_project_needs_a_budget_and_a_funding_source():
    plan = complete_plan()
    plan["pilots"]["rows"][0]["budget"] = None
    assert section_problems(plan, "pilots") == [
        "Describe at least one pilot project with its budget and funding sources."]
    plan["pilots"]["rows"][0]["budget"] = 0
    assert section_problems(plan, "pilots") == []
    plan["pilots"]["rows"][0]["funding_sources"] = "  "
    assert section_problems(plan, "pilots") != []


def test_an_indicator_needs_a_baseline_and_a_target():
    plan = complete_plan()
    plan["indicators"]["rows"][0]["target"] = ""
    assert section_problems(plan, "indicators") == [
        "Give at least one monitoring indicator with its baseline and target."]


def test_alignment_needs_at_least_one_sdg_and_its_text():
    plan = complete_plan()
    plan["alignment"] = {"sdg_topics": [], "sdgs": "", "paris": "Net zero by 2050."}
    assert section_problems(plan, "alignment") == [
        "Fill in “Sustainable Development Goals”.",
        "Choose at least one Sustainable Development Goal the plan serves."]


def test_the_fingerprint_depends_on_the_content_not_on_key_order():
    plan = complete_plan()
    shuffled = dict(reversed(list(copy.deepcopy(plan).items())))
    assert content_hash(plan) == content_hash(shuffled)
    assert len(content_hash(plan)) == 64
    plan["learned"]["learned"] += "!"
    assert content_hash(plan) != content_hash(shuffled)


def test_total_adds_the_amounts_given():
    assert total([400000, None, "", "100", "n/a"]) == 400100


def test_a_saved_section_keeps_known_answers_and_drops_empty_or_removed_rows():
    from datetime import date

    from workflows.lap import clean_section

    saved = clean_section("actions", {"rows": [
        {"title": " Bus lanes ", "objective": "Faster buses", "start": date(2026, 1, 1),
         "end": None, "cost": "400000", "lead": "", "remove": False, "stray": "x"},
        {"title": "", "objective": "", "start": None, "cost": None},
        {"title": "Old idea", "remove": True},
    ], "stray": "ignored"})
    assert saved == {"rows": [{"title": "Bus lanes", "objective": "Faster buses", "lead": "",
                               "partners": "", "start": "2026-01-01", "end": "", "cost": 400000,
                               "funding_source": ""}]}
    alignment = clean_section("alignment", {"sdgs": " Goal 11 ", "sdg_topics": ["sdg-11", ""]})
    assert alignment["sdgs"] == "Goal 11" and alignment["sdg_topics"] == ["sdg-11"]
    assert alignment["paris"] == ""
