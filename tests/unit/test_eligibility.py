"""The eligibility rules (SPEC §5, seed 003), without a database: a city call by default, a
region call where a test says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows import vocabularies
from workflows.city_to_city import VOCABULARY as CITY
from workflows.city_to_city import WORKFLOW as CITY_WORKFLOW
from workflows.eligibility import (
    EU_MEMBER_STATES,
    ORGANISATION_TYPES,
    RULES,
    Applicant,
    CallRules,
    Member,
    RuleResult,
    Verdict,
    brussels_time,
    commitment_labels,
    evaluate,
    failed,
    group_population,
    normalise_country,
    summary,
)
from workflows.region_to_region import VOCABULARY as REGION
from workflows.region_to_region import WORKFLOW as REGION_WORKFLOW
from workflows.vocabulary import referrals

pytestmark = pytest.mark.unit

BRUSSELS = ZoneInfo("Europe/Brussels")
# The IUC 2019 call closed on Friday 8 March 2019 at midnight Brussels time (CET, UTC+1).
OPENS = datetime(2019, 1, 10, 9, 0, tzinfo=UTC)
CLOSES = datetime(2019, 3, 8, 23, 59, 59, tzinfo=BRUSSELS).astimezone(UTC)
CALL = CallRules(opens_at=OPENS, closes_at=CLOSES)
#: the city call's commitments by key, as a call of 18 months words them
COMMITMENTS = CITY.commitment_labels(18)
ALL_COMMITTED = {key: True for key in COMMITMENTS}
#: a region-to-region call's rules, as the operations build them from its vocabulary
REGION_CALL = CallRules(opens_at=OPENS, closes_at=CLOSES, population_threshold=0,
                        allowed_types=REGION.applicant_types, commitments=REGION.commitments,
                        review_types=REGION.review_types,
                        referrals=referrals(vocabularies(), REGION_WORKFLOW.kind),
                        cooperation_months=12)
RESOURCES = "Two staff members at 50% for 18 months, and a travel budget of EUR 40,000."

LYON = Applicant(
    name="Lyon",
    org_type="city",
    country="FR",
    population=522_250,
    lead_contact_name="Claire Martin",
    lead_contact_email="claire.martin@example.org",
    commitments=ALL_COMMITTED,
    resources_committed=RESOURCES,
    submitted_at=datetime(2019, 2, 20, 10, 0, tzinfo=UTC),
    partner_region="Latin America and the Caribbean",
)


def group(*members: Member, **kw) -> Applicant:
    """A group of municipalities that meets every rule unless told otherwise."""
    return replace(LYON, name="Vallée Urbaine", org_type="group", population=None,
                   members=members, **kw)


def result(applicant: Applicant, slug: str, call: CallRules = CALL) -> RuleResult:
    """The result of one rule, found through ``evaluate`` so the order and wiring are tested."""
    [found] = [r for r in evaluate(applicant, call) if r.rule == slug]
    return found


LEAD = Member("Grenoble", 60_000, commitment=True, is_lead=True)
PARTNER = Member("Échirolles", 45_000, commitment=True)


# --- the whole evaluation ----------------------------------------------------------------


def test_an_eligible_city_passes_all_seven_rules_in_spec_order() -> None:
    results = evaluate(LYON, CALL)
    assert [r.rule for r in results] == ["country", "organisation_type", "population",
                                         "group_commitment", "commitments", "deadline",
                                         "single_application"]
    assert [r.rule for r in results] == [rule.slug for rule in RULES]
    assert [r.title for r in results] == [rule.title for rule in RULES]
    assert all(r.verdict is Verdict.PASS for r in results), results
    assert all(r.message.endswith(".") for r in results)
    assert summary(results) is Verdict.PASS
    assert failed(results) == []


def test_summary_is_fail_before_review_before_pass() -> None:
    ok = RuleResult("a", "A", Verdict.PASS, "ok.")
    review = RuleResult("b", "B", Verdict.REVIEW, "look.")
    bad = RuleResult("c", "C", Verdict.FAIL, "no.")
    assert summary([ok, review, bad]) is Verdict.FAIL
    assert summary([ok, review]) is Verdict.REVIEW
    assert summary([ok]) is Verdict.PASS
    assert failed([ok, review, bad]) == [bad]


def test_verdicts_are_stored_as_plain_strings() -> None:
    assert [v.value for v in Verdict] == ["pass", "fail", "needs_review"]
    assert Verdict.REVIEW == "needs_review"


def test_an_ineligible_region_fails_several_rules_at_once() -> None:
    region = replace(LYON, name="Auvergne-Rhône-Alpes", org_type="region", country="NO")
    results = evaluate(region, CALL)
    assert [r.rule for r in failed(results)] == ["country", "organisation_type"]
    assert summary(results) is Verdict.FAIL


# --- vocabularies ------------------------------------------------------------------------


def test_the_27_member_states_are_codes() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert len(set(EU_MEMBER_STATES)) == 27
    assert "CZ" in EU_MEMBER_STATES and "HR" in EU_MEMBER_STATES and "GR" in EU_MEMBER_STATES
    assert "GB" not in EU_MEMBER_STATES


def test_commitment_and_organisation_type_keys() -> None:
    assert list(COMMITMENTS) == ["cooperate_18_months", "allocate_resources", "develop_lap",
                                 "report_progress"]
    assert list(ORGANISATION_TYPES) == ["city", "group", "region", "province", "metropolitan"]


@pytest.mark.parametrize(("typed", "canonical"), [
    ("Czech Republic", "CZ"),
    ("  czech   REPUBLIC ", "CZ"),
    ("czechia", "CZ"),
    ("Holland", "NL"),
    ("the Netherlands", "NL"),
    ("FRANCE", "FR"),
    ("fr", "FR"),
    ("UK", "GB"),
    ("  Norway ", "NO"),
    ("Atlantis  Major", "Atlantis Major"),
])
def test_normalise_country(typed: str, canonical: str) -> None:
    assert normalise_country(typed) == canonical


def test_commitment_labels_follow_the_calls_cooperation_length() -> None:
    labels = commitment_labels(CallRules(cooperation_months=24))
    assert labels["cooperate_18_months"] == "Cooperate with the partner city for at least 24 months"
    assert labels["develop_lap"] == COMMITMENTS["develop_lap"]
    assert commitment_labels(CallRules()) == COMMITMENTS


# --- 1. country --------------------------------------------------------------------------


def test_country_in_the_eu_passes() -> None:
    r = result(LYON, "country")
    assert r.verdict is Verdict.PASS
    assert r.message == "Lyon is in France, an EU member state."


def test_czech_republic_is_accepted_as_czechia() -> None:
    brno = replace(LYON, name="Brno", country="CZ")
    r = result(brno, "country")
    assert r.verdict is Verdict.PASS
    assert "Czechia" in r.message


@pytest.mark.parametrize(("country", "name"), [("NO", "Norway"), ("GB", "United Kingdom"),
                                               ("UK", "United Kingdom")])
def test_a_country_outside_the_eu_fails_and_is_named(country: str, name: str) -> None:
    r = result(replace(LYON, country=country), "country")
    assert r.verdict is Verdict.FAIL
    assert r.message.startswith(name + " is not an EU member state")


def test_an_unnamed_country_fails_without_echoing_the_form_choice() -> None:
    r = result(replace(LYON, country="Other"), "country")
    assert r.verdict is Verdict.FAIL
    assert r.message.startswith("Your organisation's country is not an EU member state")


def test_a_call_open_only_to_france_and_spain() -> None:
    call = replace(CALL, eligible_countries=("FR", "ES"))
    assert result(replace(LYON, country="ES"), "country", call).verdict is Verdict.PASS
    # A name typed somewhere is read as its code.
    assert result(replace(LYON, country="spain"), "country", call).verdict is Verdict.PASS
    r = result(replace(LYON, name="Turin", country="IT"), "country", call)
    assert r.verdict is Verdict.FAIL
    assert r.message == "Italy is not among this call's eligible countries (France and Spain)."
    assert result(LYON, "country", call).message == (
        "Lyon is in France, an eligible country of this call.")


# --- 2. organisation type ----------------------------------------------------------------


def test_a_city_and_a_group_are_accepted() -> None:
    assert result(LYON, "organisation_type").verdict is Verdict.PASS
    assert result(group(LEAD, PARTNER), "organisation_type").verdict is Verdict.PASS


def test_a_region_is_pointed_to_the_region_to_region_call() -> None:
    r = result(replace(LYON, name="Andalusia", org_type="region"), "organisation_type")
    assert r.verdict is Verdict.FAIL
    assert r.message == ("A region cannot apply to this call; Andalusia should apply to a "
                         "region-to-region call instead.")
    assert r.refer_to == REGION_WORKFLOW.kind


def test_a_province_is_pointed_to_the_region_to_region_call_too() -> None:
    r = result(replace(LYON, name="Provincia di Torino", org_type="province"),
               "organisation_type")
    assert r.verdict is Verdict.FAIL
    assert r.message.endswith("should apply to a region-to-region call instead.")
    assert r.refer_to == REGION_WORKFLOW.kind


def test_a_metropolitan_body_goes_to_a_coordinator() -> None:
    r = result(replace(LYON, name="Métropole de Lyon", org_type="metropolitan"),
               "organisation_type")
    assert r.verdict is Verdict.REVIEW
    assert "a coordinator will check whether Métropole de Lyon can apply" in r.message
    assert r.refer_to == ""


def test_a_region_and_a_province_apply_to_the_region_call() -> None:
    for org_type in ("region", "province"):
        r = result(replace(LYON, name="Silesia", org_type=org_type, country="Poland",
                           commitments=dict.fromkeys(REGION.commitment_labels(12), True)),
                   "organisation_type", REGION_CALL)
        assert r.verdict is Verdict.PASS, org_type


@pytest.mark.parametrize("org_type", ["city", "group", "metropolitan"])
def test_a_city_in_the_region_call_is_pointed_to_the_city_call(org_type: str) -> None:
    r = result(replace(LYON, org_type=org_type), "organisation_type", REGION_CALL)
    assert r.verdict is Verdict.FAIL
    assert r.message.endswith("Lyon should apply to a city-to-city call instead.")
    assert r.refer_to == CITY_WORKFLOW.kind


def test_a_region_call_that_narrows_to_regions_does_not_point_a_province_to_itself() -> None:
    call = replace(REGION_CALL, allowed_types=("region",))
    r = result(replace(LYON, name="Limburg", org_type="province"), "organisation_type", call)
    assert r.verdict is Verdict.FAIL and r.refer_to == ""
    assert "region-to-region" not in r.message
    assert r.message == ("This call accepts only these types of organisation: region; yours "
                         "is: province or other sub-national government.")


def test_the_region_calls_commitments_speak_of_regions() -> None:
    given = dict.fromkeys(REGION.commitment_labels(12), True)
    assert result(replace(LYON, commitments=given), "commitments",
                  REGION_CALL).verdict is Verdict.PASS
    r = result(replace(LYON, commitments=ALL_COMMITTED), "commitments", REGION_CALL)
    assert r.verdict is Verdict.FAIL
    assert "joint regional innovation roadmap" in r.message
    assert "12 months" in r.message and "partner city" not in r.message


def test_an_unknown_organisation_type_fails() -> None:
    r = result(replace(LYON, org_type="university"), "organisation_type")
    assert r.verdict is Verdict.FAIL
    assert "city or municipality and group of municipalities" in r.message
    assert "region-to-region" not in r.message


def test_a_call_may_allow_regions() -> None:
    call = replace(CALL, allowed_types=("city", "group", "region"))
    r = result(replace(LYON, org_type="region"), "organisation_type", call)
    assert r.verdict is Verdict.PASS


# --- 3. population -----------------------------------------------------------------------


@pytest.mark.parametrize(("population", "verdict"), [
    (100_001, Verdict.PASS),
    (100_000, Verdict.REVIEW),
    (99_999, Verdict.REVIEW),
    (522_250, Verdict.PASS),
])
def test_city_population_must_be_more_than_the_threshold(population: int,
                                                          verdict: Verdict) -> None:
    assert result(replace(LYON, population=population), "population").verdict is verdict


@pytest.mark.parametrize("population", [100_000, 60_000])
def test_a_call_can_make_the_threshold_a_condition(population: int) -> None:
    call = replace(CALL, population_below="fail")
    r = result(replace(LYON, name="Annecy", population=population), "population", call)
    assert r.verdict is Verdict.FAIL
    assert "this call accepts only cities of more than 100,000 inhabitants" in r.message
    assert result(replace(LYON, population=100_001), "population", call).verdict \
        is Verdict.PASS


def test_a_smaller_city_is_reviewed_with_a_clear_message() -> None:
    r = result(replace(LYON, name="Annecy", population=90_000), "population")
    assert r.verdict is Verdict.REVIEW
    assert r.message == (
        "Annecy has 90,000 inhabitants, not more than this call's threshold of 100,000. The "
        "programme encourages cities of more than 100,000 inhabitants to apply, so a "
        "coordinator will decide whether Annecy can take part. A group of municipalities that "
        "together exceed the threshold may also apply.")


def test_population_messages_use_thousands_separators() -> None:
    assert result(LYON, "population").message == (
        "Lyon has 522,250 inhabitants, more than this call's threshold of 100,000.")


def test_unknown_city_population_needs_review() -> None:
    r = result(replace(LYON, population=None), "population")
    assert r.verdict is Verdict.REVIEW
    assert "not given" in r.message


def test_a_group_whose_members_total_the_threshold_passes() -> None:
    applicant = group(LEAD, PARTNER)
    assert group_population(applicant) == 105_000
    r = result(applicant, "population")
    assert r.verdict is Verdict.PASS
    assert "105,000" in r.message and "Grenoble 60,000" in r.message


def test_a_group_below_the_threshold_fails() -> None:
    applicant = group(LEAD, replace(PARTNER, population=30_000))
    assert group_population(applicant) == 90_000
    r = result(applicant, "population")
    assert r.verdict is Verdict.FAIL
    assert "90,000" in r.message


def test_a_group_at_exactly_the_threshold_fails() -> None:
    # Seed 003: groups are eligible "only if their total population still exceeds" it.
    applicant = group(LEAD, replace(PARTNER, population=40_000))
    assert group_population(applicant) == 100_000
    r = result(applicant, "population")
    assert r.verdict is Verdict.FAIL
    assert "a group must total more than it" in r.message


def test_a_group_uses_its_members_not_its_own_population() -> None:
    applicant = replace(group(LEAD, replace(PARTNER, population=30_000)), population=500_000)
    assert result(applicant, "population").verdict is Verdict.FAIL


def test_a_group_with_an_unknown_member_population_needs_review() -> None:
    applicant = group(LEAD, replace(PARTNER, population=None))
    assert group_population(applicant) is None
    r = result(applicant, "population")
    assert r.verdict is Verdict.REVIEW
    assert "Échirolles" in r.message and "60,000" in r.message


def test_a_group_whose_known_members_already_reach_the_threshold_passes() -> None:
    applicant = group(replace(LEAD, population=120_000), replace(PARTNER, population=None))
    assert group_population(applicant) is None
    r = result(applicant, "population")
    assert r.verdict is Verdict.PASS
    assert "known population" in r.message


def test_a_group_without_members_needs_review_for_population() -> None:
    applicant = group()
    assert group_population(applicant) is None
    assert result(applicant, "population").verdict is Verdict.REVIEW


def test_a_call_with_a_threshold_of_50000() -> None:
    call = replace(CALL, population_threshold=50_000)
    annecy = replace(LYON, name="Annecy", population=50_001)
    assert result(annecy, "population").verdict is Verdict.REVIEW
    r = result(annecy, "population", call)
    assert r.verdict is Verdict.PASS
    assert "50,000" in r.message
    assert result(replace(annecy, population=50_000), "population", call).verdict \
        is Verdict.REVIEW


# --- 4. group: lead authority, contact, members' commitment --------------------------------


def test_group_rules_do_not_apply_to_a_city() -> None:
    r = result(replace(LYON, lead_contact_name="", lead_contact_email=""), "group_commitment")
    assert r.verdict is Verdict.PASS
    assert r.message == "Not a group — does not apply."


def test_a_complete_group_passes() -> None:
    r = result(group(LEAD, PARTNER), "group_commitment")
    assert r.verdict is Verdict.PASS
    assert "Grenoble leads the group" in r.message


def test_a_group_without_a_lead_fails() -> None:
    r = result(group(replace(LEAD, is_lead=False), PARTNER), "group_commitment")
    assert r.verdict is Verdict.FAIL
    assert "lead urban authority" in r.message


def test_a_group_with_two_leads_fails() -> None:
    r = result(group(LEAD, replace(PARTNER, is_lead=True)), "group_commitment")
    assert r.verdict is Verdict.FAIL
    assert "Grenoble and Échirolles" in r.message


@pytest.mark.parametrize(("name", "email", "missing"), [
    ("", "claire.martin@example.org", "administrative contact"),
    ("Claire Martin", "  ", "e-mail address"),
])
def test_a_group_needs_a_named_administrative_contact(name: str, email: str,
                                                      missing: str) -> None:
    applicant = group(LEAD, PARTNER, lead_contact_name=name, lead_contact_email=email)
    r = result(applicant, "group_commitment")
    assert r.verdict is Verdict.FAIL
    assert missing in r.message


def test_a_group_lists_the_members_without_a_commitment() -> None:
    applicant = group(replace(LEAD, commitment=False), replace(PARTNER, commitment=False),
                      Member("Meylan", 17_000, commitment=False),
                      Member("Seyssinet-Pariset", 12_000, commitment=True))
    r = result(applicant, "group_commitment")
    assert r.verdict is Verdict.FAIL
    # The lead applies itself; only the other members must commit.
    assert "for Échirolles and Meylan" in r.message
    assert "Grenoble" not in r.message and "Seyssinet" not in r.message


def test_a_group_of_one_fails() -> None:
    r = result(group(LEAD), "group_commitment")
    assert r.verdict is Verdict.FAIL
    assert r.message.startswith("A group needs at least two member municipalities; 1 listed")


# --- 5. commitments ----------------------------------------------------------------------


def test_all_commitments_and_resources_pass() -> None:
    assert result(LYON, "commitments").verdict is Verdict.PASS


def test_missing_commitments_are_listed_by_label() -> None:
    given = {**ALL_COMMITTED, "develop_lap": False}
    del given["report_progress"]
    r = result(replace(LYON, commitments=given), "commitments")
    assert r.verdict is Verdict.FAIL
    assert COMMITMENTS["develop_lap"] in r.message
    assert COMMITMENTS["report_progress"] in r.message
    assert COMMITMENTS["cooperate_18_months"] not in r.message


def test_the_missing_cooperation_commitment_names_the_calls_length() -> None:
    call = replace(CALL, cooperation_months=24)
    given = {**ALL_COMMITTED, "cooperate_18_months": False}
    r = result(replace(LYON, commitments=given), "commitments", call)
    assert r.verdict is Verdict.FAIL
    assert "at least 24 months" in r.message


@pytest.mark.parametrize("resources", ["", "   \n "])
def test_unstated_resources_fail(resources: str) -> None:
    r = result(replace(LYON, resources_committed=resources), "commitments")
    assert r.verdict is Verdict.FAIL
    assert "State the staff time and resources" in r.message


def test_a_very_short_resources_statement_needs_review() -> None:
    r = result(replace(LYON, resources_committed="  some staff  "), "commitments")
    assert r.verdict is Verdict.REVIEW
    assert '"some staff"' in r.message


def test_a_missing_commitment_outweighs_a_short_statement() -> None:
    r = result(replace(LYON, commitments={}, resources_committed="some staff"), "commitments")
    assert r.verdict is Verdict.FAIL


# --- 6. deadline -------------------------------------------------------------------------


def submitted(at: datetime, **kw) -> Applicant:
    return replace(LYON, submitted_at=at, **kw)


def test_the_winter_deadline_is_2259_utc() -> None:
    assert datetime(2019, 3, 8, 22, 59, 59, tzinfo=UTC) == CLOSES


def test_a_submission_before_the_deadline_states_it_in_brussels_time() -> None:
    r = result(submitted(datetime(2019, 3, 8, 22, 59, tzinfo=UTC)), "deadline")
    assert r.verdict is Verdict.PASS
    assert r.message == ("Submitted on 8 March 2019 at 23:59 Brussels time, before the deadline "
                         "of 8 March 2019 at 23:59:59 Brussels time.")


def test_a_submission_at_the_closing_instant_passes() -> None:
    r = result(submitted(CLOSES), "deadline")
    assert r.verdict is Verdict.PASS
    assert "exactly at the deadline" in r.message


def test_one_second_after_the_closing_instant_fails() -> None:
    r = result(submitted(CLOSES + timedelta(seconds=1)), "deadline")
    assert r.verdict is Verdict.FAIL
    assert r.message == ("Submitted on 9 March 2019 at 00:00 Brussels time, after the deadline "
                         "of 8 March 2019 at 23:59:59 Brussels time.")


def test_a_submission_still_on_8_march_in_utc_is_late_in_brussels() -> None:
    r = result(submitted(datetime(2019, 3, 8, 23, 30, tzinfo=UTC)), "deadline")
    assert r.verdict is Verdict.FAIL
    assert "9 March 2019 at 00:30 Brussels time" in r.message


def test_a_summer_deadline_is_in_cest() -> None:
    closes = datetime(2024, 6, 30, 23, 59, 59, tzinfo=BRUSSELS).astimezone(UTC)
    assert closes == datetime(2024, 6, 30, 21, 59, 59, tzinfo=UTC)
    call = CallRules(opens_at=datetime(2024, 5, 1, tzinfo=UTC), closes_at=closes)
    on_time = result(submitted(datetime(2024, 6, 30, 21, 59, 59, tzinfo=UTC)), "deadline", call)
    assert on_time.verdict is Verdict.PASS
    assert "30 June 2024 at 23:59:59 Brussels time" in on_time.message
    late = result(submitted(datetime(2024, 6, 30, 22, 0, tzinfo=UTC)), "deadline", call)
    assert late.verdict is Verdict.FAIL
    assert late.message.startswith("Submitted on 1 July 2024 at 00:00 Brussels time")


def test_brussels_time_formatting() -> None:
    assert brussels_time(datetime(2019, 3, 8, 22, 59, tzinfo=UTC)) == (
        "8 March 2019 at 23:59 Brussels time")
    assert brussels_time(datetime(2024, 7, 1, 8, 5, 7, tzinfo=UTC)) == (
        "1 July 2024 at 10:05:07 Brussels time")
    # A naive time from the database is read as UTC.
    assert brussels_time(datetime(2019, 3, 8, 22, 59)) == "8 March 2019 at 23:59 Brussels time"


def test_an_extension_lets_a_late_submission_pass() -> None:
    late = CLOSES + timedelta(days=2)
    r = result(submitted(late, extension_until=CLOSES + timedelta(days=3)), "deadline")
    assert r.verdict is Verdict.PASS
    assert "within your extension until 11 March 2019 at 23:59:59 Brussels time" in r.message


def test_a_submission_at_the_end_of_the_extension_passes() -> None:
    extension = CLOSES + timedelta(days=3)
    assert result(submitted(extension, extension_until=extension), "deadline").verdict \
        is Verdict.PASS


def test_a_submission_after_the_extension_fails() -> None:
    extension = CLOSES + timedelta(days=1)
    r = result(submitted(extension + timedelta(seconds=1), extension_until=extension),
               "deadline")
    assert r.verdict is Verdict.FAIL
    assert "after your extension ended on 9 March 2019 at 23:59:59 Brussels time" in r.message


def test_a_submission_before_the_call_opened_fails() -> None:
    r = result(submitted(OPENS - timedelta(minutes=1)), "deadline")
    assert r.verdict is Verdict.FAIL
    assert "before the call opened on 10 January 2019 at 10:00 Brussels time" in r.message


def test_not_yet_submitted_needs_review_and_names_the_deadline() -> None:
    r = result(replace(LYON, submitted_at=None), "deadline")
    assert r.verdict is Verdict.REVIEW
    assert r.message == "Not yet submitted; the deadline is 8 March 2019 at 23:59:59 Brussels time."
    extended = result(replace(LYON, submitted_at=None,
                              extension_until=CLOSES + timedelta(days=1)), "deadline")
    assert "9 March 2019" in extended.message


def test_a_call_without_a_closing_date_accepts_any_submission_after_opening() -> None:
    call = CallRules(opens_at=OPENS)
    r = result(submitted(datetime(2030, 1, 1, tzinfo=UTC)), "deadline", call)
    assert r.verdict is Verdict.PASS
    assert "no closing date" in r.message


def test_naive_times_from_the_database_are_read_as_utc() -> None:
    naive_call = CallRules(closes_at=CLOSES.replace(tzinfo=None))
    ok = submitted(CLOSES.replace(tzinfo=None))
    assert result(ok, "deadline", naive_call).verdict is Verdict.PASS
    late = submitted(CLOSES + timedelta(seconds=1))
    assert result(late, "deadline", naive_call).verdict is Verdict.FAIL


# --- 7. one application per partner region -----------------------------------------------


def test_a_single_application_passes() -> None:
    r = result(LYON, "single_application")
    assert r.verdict is Verdict.PASS
    assert "Latin America and the Caribbean" in r.message


def test_other_live_applications_fail_and_are_named() -> None:
    applicant = replace(LYON, other_live_applications=("IUC-2019-0012", "IUC-2019-0031"))
    r = result(applicant, "single_application")
    assert r.verdict is Verdict.FAIL
    assert "IUC-2019-0012 and IUC-2019-0031" in r.message
    assert "Latin America and the Caribbean" in r.message
