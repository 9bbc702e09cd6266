"""The plans' completeness rules and their fingerprint: the city call's Local Action Plan
(seed 003) and the region call's joint regional innovation roadmap (seeds 001, 002)."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from workflows.lap import LAP, ROADMAP, content_hash, rows, total

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
            {"member": "", "organisation": "Métropole de Lyon", "sector": "other_government"},
            {"member": "Inès", "organisation": "Neighbourhood council",
             "sector": "civil_society"},
        ]},
        "actions": {"rows": [{"title": "Bus lanes", "objective": "Faster buses",
                              "lead": "Transport office", "partners": "", "start": "2026-01-01",
                              "end": "2026-12-31", "cost": 400000, "funding_source": "ERDF"}]},
        "pilots": {"rows": [{"title": "Electric bus line", "timeframe": "Six months in 2026",
                             "budget": 250000, "funding_sources": "City budget, ERDF",
                             "financing_model": "Leasing with the operator",
                             "expected_results": "One line electric"}]},
        "indicators": {"rows": [{"name": "Bus share of trips", "baseline": "12%",
                                 "target": "24%", "source": "Survey", "frequency": "Yearly"}]},
        "alignment": {"sdg_topics": ["sdg-11"], "sdgs": "SDG 11.2: transport for all.",
                      "new_urban_agenda": "Sustainable urban mobility (§114).",
                      "urban_agenda_eu": "The Urban Mobility partnership.",
                      "sendai": "Buses keep running in floods.",
                      "paris": "Fewer emissions from transport."},
        "learned": {"learned": "Rosario's bus rapid transit planning."},
    }


def complete_roadmap() -> dict:
    return {
        "summary": {"summary": "Green hydrogen valleys in Silesia and Paraná.",
                    "priority": "Green hydrogen"},
        "specialisation": {"eu_priorities": "Silesia's RIS3: clean energy, smart production.",
                           "partner_priorities": "Paraná: bioeconomy and renewable energy.",
                           "shared": "Hydrogen from renewables for industry."},
        "projects": {"rows": [{"title": "Hydrogen valley pilot", "objective": "A shared test bed",
                               "partners": "University of Silesia, UFPR, two clusters",
                               "lead": "Silesian Energy Cluster", "start": "2032-01-01",
                               "end": "2033-06-30", "cost": 900000,
                               "funding_source": "Horizon Europe"}]},
        "ecosystem": {"rows": [
            {"organisation": "University of Silesia", "region": "Silesia", "sector": "research"},
            {"organisation": "Tauron", "region": "Silesia", "sector": "business"},
            {"organisation": "Silesian Energy Cluster", "region": "Silesia",
             "sector": "cluster"},
        ]},
        "opportunities": {"rows": [{"title": "Electrolysers for Brazil",
                                    "description": "Silesian makers supply Paraná's plants.",
                                    "market": "Energy", "investment": 2000000}]},
        "funding": {"funding_plan": "Horizon Europe, BNDES and private investment."},
        "governance": {"governance": "A joint steering group meets every quarter."},
        "indicators": {"rows": [{"name": "Joint projects", "baseline": "0", "target": "3"}]},
        "learned": {"learned": ""},
    }


# -- the Local Action Plan ------------------------------------------------------------------

def test_a_complete_plan_has_no_problems_and_optional_sections_may_stay_empty():
    plan = complete_plan()
    assert LAP.problems(plan) == []
    assert LAP.missing_sections(plan) == []
    for key in ("funding", "governance", "risks"):
        assert LAP.section_problems(plan, key) == []


def test_an_empty_plan_lists_every_required_section():
    found = LAP.problems({})
    assert LAP.missing_sections({}) == [s.title for s in LAP.sections if s.required]
    assert "Summary and knowledge-sharing priority: Fill in “Summary of the plan”." in found
    assert "Actions: Describe at least one action with its title, objective and lead." in found


def test_the_stakeholder_group_must_include_each_sector_seed_003_names():
    plan = complete_plan()
    # Three sectors were enough before; the seed asks for business, research, other levels
    # of government and the local community.
    plan["stakeholders"]["rows"] = [r for r in plan["stakeholders"]["rows"]
                                    if r["sector"] in ("public_administration", "academia",
                                                       "civil_society")]
    assert LAP.section_problems(plan, "stakeholders") == [
        "Include each of these sectors: Business; Research and academia; Other level of "
        "government; Local community and civil society (still missing: Business; Other level "
        "of government)."]
    plan = complete_plan()
    plan["stakeholders"]["rows"] = [r for r in plan["stakeholders"]["rows"]
                                    if r["sector"] != "public_administration"]
    assert LAP.section_problems(plan, "stakeholders") == []


def test_every_stakeholder_needs_a_name_or_an_organisation():
    plan = complete_plan()
    plan["stakeholders"]["rows"].append({"member": "", "organisation": "",
                                         "sector": "civil_society"})
    assert LAP.section_problems(plan, "stakeholders") == [
        "Give the member or organisation of every stakeholder."]


def test_empty_rows_do_not_count():
    plan = complete_plan()
    plan["actions"]["rows"] = [{"title": "", "objective": "", "lead": ""}]
    assert rows(plan, "actions") == []
    assert LAP.section_problems(plan, "actions") == [
        "Describe at least one action with its title, objective and lead."]


def test_an_action_cannot_end_before_it_starts():
    plan = complete_plan()
    plan["actions"]["rows"][0]["end"] = "2025-06-30"
    assert LAP.section_problems(plan, "actions") == ["The end of Bus lanes is before its start."]


@pytest.mark.parametrize("column", ["timeframe", "financing_model", "expected_results",
                                    "funding_sources"])
def test_a_pilot_project_needs_a_timeframe_a_financing_model_and_expected_results(column):
    plan = complete_plan()
    plan["pilots"]["rows"][0][column] = "  "
    assert LAP.section_problems(plan, "pilots") == [
        "Describe at least one pilot project with its title, short-term timeframe, budget, "
        "funding sources, financing model and expected results."]


def test_a_pilot_budget_of_zero_counts_but_none_does_not():
    plan = complete_plan()
    plan["pilots"]["rows"][0]["budget"] = 0
    assert LAP.section_problems(plan, "pilots") == []
    plan["pilots"]["rows"][0]["budget"] = None
    assert LAP.section_problems(plan, "pilots") != []


def test_an_indicator_needs_a_baseline_and_a_target():
    plan = complete_plan()
    plan["indicators"]["rows"][0]["target"] = ""
    assert LAP.section_problems(plan, "indicators") == [
        "Describe at least one monitoring indicator with its name, baseline and target."]


@pytest.mark.parametrize(("key", "label"), [
    ("sdgs", "Sustainable Development Goals"), ("new_urban_agenda", "New Urban Agenda"),
    ("urban_agenda_eu", "Urban Agenda for the EU"),
    ("sendai", "Sendai Framework for Disaster Risk Reduction"), ("paris", "Paris Agreement")])
def test_each_of_the_five_frameworks_must_be_answered(key, label):
    plan = complete_plan()
    plan["alignment"][key] = ""
    assert LAP.section_problems(plan, "alignment") == [f"Fill in “{label}”."]


def test_alignment_also_names_at_least_one_sdg():
    plan = complete_plan()
    plan["alignment"]["sdg_topics"] = []
    assert LAP.section_problems(plan, "alignment") == [
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
    saved = LAP.clean_section("actions", {"rows": [
        {"title": " Bus lanes ", "objective": "Faster buses", "start": date(2026, 1, 1),
         "end": None, "cost": "400000", "lead": "", "remove": False, "stray": "x"},
        {"title": "", "objective": "", "start": None, "cost": None},
        {"title": "Old idea", "remove": True},
    ], "stray": "ignored"})
    assert saved == {"rows": [{"title": "Bus lanes", "objective": "Faster buses", "lead": "",
                               "partners": "", "start": "2026-01-01", "end": "", "cost": 400000,
                               "funding_source": ""}]}
    alignment = LAP.clean_section("alignment", {"sdgs": " Goal 11 ",
                                                "sdg_topics": ["sdg-11", ""]})
    assert alignment["sdgs"] == "Goal 11" and alignment["sdg_topics"] == ["sdg-11"]
    assert alignment["paris"] == ""


# -- the joint regional innovation roadmap --------------------------------------------------

def test_the_roadmap_has_its_own_sections_not_the_laps():
    keys = ROADMAP.keys()
    assert {"specialisation", "projects", "ecosystem", "opportunities", "funding",
            "governance", "indicators"} <= set(keys)
    assert not {"stakeholders", "alignment", "pilots", "vision"} & set(keys)
    titles = " ".join(s.title for s in ROADMAP.sections)
    assert "Sendai" not in titles and "Urban Agenda" not in titles
    assert ROADMAP.joint and not LAP.joint


def test_a_complete_roadmap_has_no_problems():
    assert ROADMAP.problems(complete_roadmap()) == []


def test_an_empty_roadmap_lists_its_required_sections():
    assert ROADMAP.missing_sections({}) == [
        "Summary and shared innovation priority", "Smart-specialisation priorities",
        "Joint innovation projects", "Innovation partners",
        "Business and investment opportunities", "Funding", "Governance",
        "Monitoring indicators"]


def test_a_joint_project_needs_its_partners():
    roadmap = complete_roadmap()
    roadmap["projects"]["rows"][0]["partners"] = ""
    assert ROADMAP.section_problems(roadmap, "projects") == [
        "Describe at least one joint project with its title, objective and partners."]


def test_the_innovation_partners_include_research_business_and_a_cluster():
    roadmap = complete_roadmap()
    roadmap["ecosystem"]["rows"] = roadmap["ecosystem"]["rows"][:2]
    assert ROADMAP.section_problems(roadmap, "ecosystem") == [
        "Include each of these sectors: University or research centre; Business; Cluster or "
        "business association (still missing: Cluster or business association)."]


def test_the_smart_specialisation_priorities_of_both_regions_are_needed():
    roadmap = complete_roadmap()
    roadmap["specialisation"]["partner_priorities"] = ""
    assert ROADMAP.section_problems(roadmap, "specialisation") == [
        "Fill in “The partner region's innovation priorities”."]


def test_a_business_opportunity_needs_a_description():
    roadmap = complete_roadmap()
    roadmap["opportunities"]["rows"][0]["description"] = ""
    assert ROADMAP.missing_sections(roadmap) == ["Business and investment opportunities"]
