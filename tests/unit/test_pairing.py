"""Pairing: the topic vocabulary, scores with reasons, suggestions, the call-wide optimum and
the evaluation against the 2017 programme table."""

from __future__ import annotations

import itertools
import random
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from workflows.evaluation import evaluate_pairings
from workflows.language import terms
from workflows.pairing import (
    Profile,
    Scorer,
    Suggestion,
    assign,
    optimum,
    read_pairings,
    suggest,
)
from workflows.topics import lexicon, map_text_to_topics, topic_labels, vocabulary

pytestmark = pytest.mark.unit

TABLE_2017 = Path(str(files("workflows").joinpath("data", "iuc_2017_pairings.csv")))


def profile(
    key: str, topics: set[str] | frozenset[str] = frozenset(), text: str = "", region: str = ""
) -> Profile:
    return Profile(key, key, frozenset(topics), text, region)


# --- vocabulary --------------------------------------------------------------------------------


def test_vocabulary_is_the_shipped_file() -> None:
    topics = vocabulary()
    assert len(topics) == 50
    assert {t.family for t in topics} == {"theme", "sdg"}
    assert sum(t.family == "sdg" for t in topics) == 17
    assert topic_labels()["water"] == "Water management and sanitation"


def test_the_lexicon_names_only_vocabulary_topics_in_every_language() -> None:
    slugs = set(topic_labels())
    found = lexicon()
    assert set(found) == {"en", "es", "pt", "fr", "zh"}
    named = {
        t
        for lang in found.values()
        for phrases in (*lang.exact.values(), *lang.prefixed.values())
        for phrase in phrases
        for t in phrase.targets
    } | {t for lang in found.values() for ts in lang.chinese.values() for t in ts}
    assert named <= slugs
    # Every theme is named in each of the four languages, not only in English.
    themes = {t.slug for t in vocabulary() if t.family == "theme"}
    for lang in ("es", "pt", "fr"):
        in_lang = {
            t
            for phrases in (*found[lang].exact.values(), *found[lang].prefixed.values())
            for phrase in phrases
            for t in phrase.targets
        }
        assert themes <= in_lang, (lang, themes - in_lang)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smart cities, education, jobs and skills", ["smart-city", "education", "jobs-skills"]),
        ("water and waste management", ["water", "waste"]),
        ("port, logistics", ["port-logistics"]),
        (
            "smart production, innovation, medtech, elderly",
            ["smart-production", "innovation", "health", "ageing"],
        ),
        (
            "climate change adaptation, urban nature-based solutions and smart eco-city",
            ["climate-adaptation", "nature-based-solutions", "smart-city"],
        ),
        ("smart/healthy cities and urban mobility", ["smart-city", "health", "urban-mobility"]),
        ("post-conflict urban development", ["post-conflict"]),
        ("smart cities and sustainable production and consumption", ["smart-city", "sdg-12"]),
        ("urban rural nexus, sustainable agriculture", ["agriculture-food"]),
        ("smart cities and implementation of the SDGs", ["smart-city", "sdg-11", "sdg-17"]),
        ("clean technology and renewable energy", ["energy-transition"]),
        (
            "gender, social inclusion and economic development",
            ["gender", "social-inclusion", "economic-development"],
        ),
    ],
)
def test_map_text_to_topics_on_the_2017_table(text: str, expected: list[str]) -> None:
    assert map_text_to_topics(text) == expected


def test_map_text_to_topics_ignores_case_accents_and_word_parts() -> None:
    assert map_text_to_topics("RÉGÉNÉRATION of the harbour; SDG 6") == [
        "urban-regeneration",
        "port-logistics",
        "sdg-6",
    ]
    # A "*" in the lexicon opens the ending; other words match by their stem.
    assert map_text_to_topics("Flooding, transportation and agriculture") == [
        "flood-risk",
        "urban-mobility",
        "agriculture-food",
    ]
    # "port" inside "support" and "sports" is not a port (sport is health).
    assert "port-logistics" not in map_text_to_topics("support for sports clubs")
    assert map_text_to_topics("") == []


# --- scores and reasons ------------------------------------------------------------------------


def test_terms_drop_stop_words_and_generic_words_and_stem() -> None:
    # "cities", "strategies", "want", "residents" say nothing about the challenge.
    assert terms(
        "The Cities' bus networks, including cycling and Málaga's strategies; we want residents"
    ) == ["bus", "network", "cycl", "malaga"]


def test_a_rare_shared_topic_outranks_a_common_one() -> None:
    case = profile("case", {"port-logistics", "smart-city"})
    rare = profile("rare", {"port-logistics", "housing"})
    common = profile("common", {"smart-city", "housing"})
    crowd = [profile(f"crowd{n}", {"smart-city"}) for n in range(6)]
    scorer = Scorer([case, rare, common, *crowd], topic_weight=0.7, text_weight=0.3,
                    semantic_weight=0)

    assert scorer.score(case, rare).score > scorer.score(case, common).score
    both = scorer.score(case, profile("both", {"smart-city", "port-logistics"}))
    assert both.shared_topics == ("port-logistics", "smart-city")
    assert both.topic_score == pytest.approx(1.0)
    assert both.score == pytest.approx(0.7)  # no statements: the text part adds nothing


def test_statement_similarity_breaks_a_topic_tie_and_names_the_words() -> None:
    case = profile("case", {"water"}, "Reduce leakage in the drinking water networks")
    close = profile("close", {"water"}, "Leakage sensors for a drinking water network")
    far = profile("far", {"water"}, "River flood defences and storm drains")
    scorer = Scorer([case, close, far, profile("other", {"waste"}, "Landfill and recycling")])

    near, away = scorer.score(case, close), scorer.score(case, far)
    assert "water" in near.shared_topics and "water" in away.shared_topics
    assert near.score > away.score
    assert near.semantic_score > away.semantic_score
    # Words are shown as the case wrote them, not as their stems.
    assert set(near.matched_terms) == {"leakage", "drinking", "water", "networks"}
    assert near.matched_terms[-1] == "water"  # the commonest word counts least
    assert away.matched_terms == ()
    assert 0.0 <= away.score <= near.score <= 1.0


def test_weights_must_make_sense() -> None:
    with pytest.raises(ValueError, match="weights"):
        Scorer([], topic_weight=0, text_weight=0, semantic_weight=0)
    with pytest.raises(ValueError, match="weights"):
        Scorer([], topic_weight=-1)


def random_profiles(rng: random.Random, prefix: str, count: int) -> list[Profile]:
    slugs = [t.slug for t in vocabulary()][:12]
    words = ["water", "leak", "bus", "lane", "school", "heat", "tree", "port", "jobs", "cities"]
    return [
        profile(
            f"{prefix}{n}",
            set(rng.sample(slugs, rng.randint(0, 4))),
            " ".join(rng.choices(words, k=rng.randint(0, 12))),
        )
        for n in range(count)
    ]


def test_matrix_equals_score_element_wise() -> None:
    rng = random.Random(3)
    cases = random_profiles(rng, "c", 9)
    partners = random_profiles(rng, "p", 7)
    scorer = Scorer([*cases, *partners[:-1]])  # the last partner was not fitted
    partners.append(profile("unseen", {"sdg-5"}, "gender budgeting water"))

    matrix = scorer.matrix(cases, partners)
    expected = np.array([[scorer.score(c, p).score for p in partners] for c in cases])
    assert matrix.shape == (9, 8)
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-12)
    assert matrix.max() > 0.5


def made_up_words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices("bcdfgklmnprtvz", k=7)) for _ in range(count)]


def reasons(s: Suggestion) -> tuple[object, ...]:
    return s.partner, s.shared_topics, s.matched_terms


def values(s: Suggestion) -> tuple[float, float, float]:
    return s.score, s.topic_score, s.text_score


@pytest.mark.parametrize("vocabulary_size", [12, 4000])  # a few words (dense) or many (sparse)
def test_matrix_equals_score_on_random_profiles_fitted_or_not(vocabulary_size: int) -> None:
    rng = random.Random(vocabulary_size)
    slugs = [t.slug for t in vocabulary()]
    words = made_up_words(rng, vocabulary_size)

    def draw(prefix: str, count: int) -> list[Profile]:
        return [
            profile(
                f"{prefix}{n}",
                set(rng.sample(slugs, rng.randint(0, 5))),
                " ".join(rng.choices(words, k=rng.randint(0, 30))),
            )
            for n in range(count)
        ]

    cases, partners = draw("c", 60), draw("p", 50)
    scorer = Scorer([*cases[:40], *partners[:35], cases[0]])  # a profile fitted twice
    # Profiles outside the fit, some sharing a topic or a word only the unfitted ones use.
    cases += [profile("new-c", {"not-a-topic", "water"}, "zyxwv water"), profile("empty")]
    partners += [profile("new-p", {"not-a-topic"}, "zyxwv qqq"), profile("new-q", set(), "qqq")]

    matrix = scorer.matrix(cases, partners)
    expected = np.array([[scorer.score(c, p).score for p in partners] for c in cases])
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-12)
    assert matrix[-2, -2] > 0 and scorer.score(cases[-2], partners[-2]).matched_terms == ("zyxwv",)
    assert not matrix[-1].any()
    # Scoring a few profiles alone gives what the whole matrix gives.
    np.testing.assert_allclose(
        scorer.matrix(cases[-3:], partners[::7]), matrix[-3:, ::7], rtol=0, atol=1e-12
    )
    # Reasons found for many pairs at once are those of each pair alone.
    pairs = [(c, p) for c in cases[::3] for p in partners[::4]] + [(cases[-2], partners[-2])]
    together, alone = scorer.explain_all(pairs), [scorer.score(c, p) for c, p in pairs]
    assert [reasons(s) for s in together] == [reasons(s) for s in alone]
    np.testing.assert_allclose(
        [values(s) for s in together], [values(s) for s in alone], rtol=0, atol=1e-12
    )
    assert scorer.explain_all([]) == []


def test_matched_words_that_tie_go_by_spelling() -> None:
    # "bus" once here and three times there, "tram" the other way round: equal contributions,
    # which floating point makes differ in the last digit.
    case = profile("case", set(), "bus tram tram tram ferry")
    partner = profile("partner", set(), "bus bus bus tram")
    scorer = Scorer([case, partner, profile("other", set(), "ferry")])
    assert scorer.score(case, partner).matched_terms == ("bus", "tram")
    assert scorer.score(partner, case).matched_terms == ("bus", "tram")


# --- suggestions -------------------------------------------------------------------------------


def test_suggest_filters_by_region_ranks_and_gives_reasons() -> None:
    case = profile("case", {"urban-mobility", "health"}, "safer cycling routes to schools")
    partners = [
        profile("Osaka", {"urban-mobility", "health"}, "cycling to schools", "Asia"),
        profile("Busan", {"urban-mobility"}, "bus lanes", "Asia"),
        profile("Anshan", {"urban-mobility"}, "bus lanes", "Asia"),
        profile("Quito", {"housing"}, "informal housing", "Asia"),
        profile("Denver", {"urban-mobility", "health"}, "cycling to schools", "North America"),
    ]
    scorer = Scorer([case, *partners], semantic_weight=0)

    found = suggest(case, partners, scorer, regions={"Asia"})
    # Denver is outside the regions; Anshan and Busan tie, by name; Quito shares nothing and
    # still comes, last.
    assert [s.partner.name for s in found] == ["Osaka", "Anshan", "Busan", "Quito"]
    assert found[0].shared_topics and found[0].matched_terms == ("cycling", "schools")
    assert found[-1].score < found[-2].score
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert [s.partner.name for s in suggest(case, partners, scorer, limit=1)] == ["Denver"]
    assert suggest(case, partners, scorer, regions={"Europe"}) == []


# --- the call-wide optimum ---------------------------------------------------------------------


def test_assign_beats_greedy_on_a_hand_made_matrix() -> None:
    scores = np.array([[0.9, 0.8, 0.0], [0.7, 0.1, 0.0], [0.0, 0.6, 0.5]])
    pairs = assign(scores)
    # Greedy takes 0.9, then 0.5, then 0.1: 1.5. The optimum is 0.8 + 0.7 + 0.5.
    assert pairs == [(0, 1), (1, 0), (2, 2)]
    assert sum(scores[i, j] for i, j in pairs) == pytest.approx(2.0)


def test_assign_leaves_a_slot_empty_rather_than_lose_a_better_pair() -> None:
    scores = np.array([[0.9, 0.05], [0.1, 0.5]])
    allowed = np.array([[True, True], [True, False]])
    # Filling both slots with allowed pairs gives 0.05 + 0.1; one pair alone gives 0.9.
    assert assign(scores, allowed) == [(0, 0)]


def test_optimum_maximises_the_total_where_greedy_would_not() -> None:
    a = profile("A", {"water", "waste"})
    b = profile("B", {"water"})
    x = profile("X", {"water", "waste"})
    y = profile("Y", {"waste"})
    scorer = Scorer([a, b, x, y], topic_weight=1, text_weight=0)
    greedy = scorer.score(a, x).score + scorer.score(b, y).score

    pairs = optimum([a, b], [x, y], scorer)
    assert [(p.case.key, p.partner.key) for p in pairs] == [("A", "Y"), ("B", "X")]
    total = sum(p.suggestion.score for p in pairs)
    assert total > greedy
    assert pairs[1].suggestion.shared_topics == ("water",)


def brute_force(matrix: np.ndarray) -> float:
    rows, cols = matrix.shape
    if rows > cols:
        return brute_force(matrix.T)
    perms = itertools.permutations(range(cols), rows)
    return max(sum(matrix[i, j] for i, j in enumerate(perm)) for perm in perms)


@pytest.mark.parametrize(("n_cases", "n_partners"), [(6, 4), (4, 6), (5, 5)])
def test_optimum_on_rectangular_calls_matches_brute_force(n_cases: int, n_partners: int) -> None:
    rng = random.Random(n_cases * 10 + n_partners)
    cases = random_profiles(rng, "c", n_cases)
    partners = random_profiles(rng, "p", n_partners)
    scorer = Scorer([*cases, *partners])

    pairs = optimum(cases, partners, scorer)
    assert len(pairs) <= min(n_cases, n_partners)
    assert len({p.case.key for p in pairs}) == len({p.partner.key for p in pairs}) == len(pairs)
    assert all(p.suggestion.score > 0 for p in pairs)
    total = sum(p.suggestion.score for p in pairs)
    assert total == pytest.approx(brute_force(scorer.matrix(cases, partners)))


def test_optimum_never_assigns_forbidden_pairs_or_other_regions() -> None:
    rng = random.Random(11)
    cases = random_profiles(rng, "c", 6)
    partners = [
        Profile(p.key, p.name, p.topics, p.text, region)
        for p, region in zip(random_profiles(rng, "p", 6), itertools.cycle(["Asia", "Europe"]))
    ]
    scorer = Scorer([*cases, *partners])
    free = optimum(cases, partners, scorer)
    forbidden = {(p.case.key, p.partner.key) for p in free}
    regions_of = {"c0": {"Asia"}, "c1": {"Europe"}}

    pairs = optimum(cases, partners, scorer, forbidden=forbidden, regions_of=regions_of)
    assert pairs
    assert not {(p.case.key, p.partner.key) for p in pairs} & forbidden
    for pair in pairs:
        if pair.case.key in regions_of:
            assert pair.partner.region in regions_of[pair.case.key]


def test_optimum_drops_pairs_at_or_below_the_minimum_score() -> None:
    rng = random.Random(5)
    cases = random_profiles(rng, "c", 5)
    partners = random_profiles(rng, "p", 5)
    scorer = Scorer([*cases, *partners])
    threshold = float(np.median(scorer.matrix(cases, partners)))

    pairs = optimum(cases, partners, scorer, min_score=threshold)
    assert pairs
    assert all(p.suggestion.score > threshold for p in pairs)
    assert optimum(cases, partners, scorer, min_score=1.0) == []
    assert optimum([], partners, scorer) == []


def test_optimum_with_two_partners_per_case_adds_only_good_extra_partners() -> None:
    # Belfast shares both topics with Cali and Medellín; Lyon only one with Quito.
    belfast = profile("Belfast", {"water", "waste"})
    lyon = profile("Lyon", {"energy-transition"})
    cali = profile("Cali", {"water", "waste"})
    medellin = profile("Medellin", {"water", "waste"})
    quito = profile("Quito", {"energy-transition", "housing"})
    lima = profile("Lima", {"water"})
    partners = [cali, medellin, quito, lima]
    scorer = Scorer([belfast, lyon, *partners], topic_weight=1, text_weight=0)

    one = optimum([belfast, lyon], partners, scorer)
    assert [p.case.key for p in one] == ["Belfast", "Lyon"]

    pairs = optimum([belfast, lyon], partners, scorer, max_per_case=2)
    by_case: dict[str, list[str]] = {}
    for p in pairs:
        by_case.setdefault(p.case.key, []).append(p.partner.key)
    # Belfast gets both of its equally good partners; Lima shares too little to be a second.
    assert sorted(by_case["Belfast"]) == ["Cali", "Medellin"]
    assert by_case["Lyon"] == ["Quito"]
    assert len({p.partner.key for p in pairs}) == len(pairs)  # each partner used once
    # The lead (first) partner of a case is its best.
    belfast_scores = [p.suggestion.score for p in pairs if p.case.key == "Belfast"]
    assert belfast_scores == sorted(belfast_scores, reverse=True)


def test_a_second_partner_never_takes_the_only_partner_of_another_case() -> None:
    a = profile("A", {"water", "waste"})
    b = profile("B", {"water"})
    x = profile("X", {"water", "waste"})
    y = profile("Y", {"water", "waste"})
    scorer = Scorer([a, b, x, y], topic_weight=1, text_weight=0)

    pairs = optimum([a, b], [x, y], scorer, max_per_case=2)
    assert {p.case.key for p in pairs} == {"A", "B"}
    assert len(pairs) == 2


# --- the 2017 table ----------------------------------------------------------------------------


def test_evaluation_on_the_2017_table() -> None:
    result = evaluate_pairings(TABLE_2017)
    assert result.cities == 55
    assert result.top3 >= 0.8
    assert 0 <= result.top1 <= result.top3 <= 1
    assert len(result.misses) == round((1 - result.top3) * result.cities)


def test_evaluation_on_the_2017_table_ranks_as_the_command_prints() -> None:
    # What `citypair pairing evaluate` prints last for the shipped table.
    result = evaluate_pairings(TABLE_2017)
    assert f"top1={result.top1:.2f} top3={result.top3:.2f}" == "top1=0.95 top3=1.00"


def test_evaluation_breaks_ties_by_name_not_for_the_historic_partner(tmp_path: Path) -> None:
    table = tmp_path / "pairings.csv"
    table.write_text(
        "eu_city,eu_country,partner_city,partner_country,partner_region,topics\n"
        "Aveiro,Portugal,Zapopan,Mexico,Latin America,urban mobility\n"
        "Braga,Portugal,Morelia,Mexico,Latin America,urban mobility\n"
        "Coimbra,Portugal,Acapulco,Mexico,Latin America,urban mobility\n"
        "Dublin,Ireland,León,Mexico,Latin America,urban mobility\n"
        "Cork,Ireland,Tijuana,Mexico,Latin America,port logistics\n",
        encoding="utf-8",
    )
    result = evaluate_pairings(table)
    # Four partners tie for four EU cities: by name only Acapulco comes first and Zapopan
    # comes fourth. Ties that favoured the historic partner would give 5 of 5 in the top 1.
    assert (result.cities, result.top1, result.top3) == (5, 2 / 5, 4 / 5)
    assert result.misses == ("Aveiro → Zapopan",)


def test_read_pairings_wants_the_table_columns(tmp_path: Path) -> None:
    table = tmp_path / "bad.csv"
    table.write_text("eu_city,partner_city\nPorto,Pereira\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        read_pairings(table)
    assert len(read_pairings(TABLE_2017)) == 55
