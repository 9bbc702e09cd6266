"""Matching by meaning: the multilingual model, everyday and multilingual topic vocabulary,
stop words and generic words, statement vectors kept per text, and the evaluation command on
two-sided tables (the real shipped model runs here; it needs no network)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from webapp.cli import main
from webapp.operations.pairing import topics_from_cell
from workflows.embeddings import Embeddings, sentences, statement_key
from workflows.evaluation import evaluate, read_table, topics_of
from workflows.language import generic_words, guess_language, stop_words, terms
from workflows.pairing import Profile, Scorer, optimum, suggest
from workflows.topics import map_text_to_topics, vocabulary

pytestmark = pytest.mark.unit

EU = (
    "Cruise passengers and day-trippers crowd our historic centre every summer. "
    "Short-term holiday rentals push residents out of the old town. "
    "We want to keep families living in the centre."
)
SAME_PT = (
    "O centro histórico sofre com o excesso de turistas e navios de cruzeiro. "
    "O aluguel de temporada expulsa os moradores dos bairros antigos."
)
OTHER_PT = (
    "Precisamos ampliar a coleta seletiva de resíduos e fechar o lixão. "
    "A cidade quer apoiar as cooperativas de catadores."
)


def profile(key: str, text: str = "", topics: frozenset[str] = frozenset(),
            region: str = "") -> Profile:
    return Profile(key, key, topics, text, region)


# --- across languages -----------------------------------------------------------------------


def test_a_portuguese_statement_on_the_same_challenge_ranks_first_for_an_english_one() -> None:
    case = profile("Lisbon", EU)
    same, other = profile("Recife", SAME_PT), profile("Belem", OTHER_PT)
    scorer = Scorer([case, same, other])

    found = suggest(case, [other, same], scorer)
    assert [s.partner.name for s in found] == ["Recife", "Belem"]
    assert found[0].semantic_score > found[1].semantic_score + 0.2
    # The sentences that match are quoted as written, each in its own language.
    pairs = found[0].matched_sentences
    assert pairs and pairs[0].similarity >= 0.45
    assert {p.mine for p in pairs} <= set(sentences(EU))
    assert {p.theirs for p in pairs} <= set(sentences(SAME_PT))
    assert any("turistas" in p.theirs or "aluguel" in p.theirs for p in pairs)
    assert guess_language(pairs[0].theirs) == "pt"


@pytest.mark.parametrize(
    "partner",
    [
        "El turismo masivo satura el casco antiguo y los pisos turísticos expulsan a los vecinos.",
        "Le tourisme de masse sature le centre historique et les locations touristiques chassent "
        "les habitants.",
        "历史城区游客过多，短租民宿挤走了原住居民。",
    ],
)
def test_spanish_french_and_chinese_statements_meet_an_english_one(partner: str) -> None:
    case = profile("Lisbon", EU)
    same, other = profile("same", partner), profile("other", OTHER_PT)
    scores = Scorer([case, same, other]).matrix([case], [same, other])[0]
    assert scores[0] > scores[1]


# --- the vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("bicycle", "urban-mobility"),
        ("garbage", "waste"),
        ("solar", "energy-transition"),
        ("tram", "urban-mobility"),
        ("earthquake", "resilience"),
        ("heatwave", "climate-adaptation"),
        ("drought", "water"),
        ("stormwater", "flood-risk"),
        ("homelessness", "housing"),
        ("overtourism", "tourism"),
        ("ciclovías y bicicletas", "urban-mobility"),
        ("basura y vertederos", "waste"),
        ("ola de calor", "climate-adaptation"),
        ("sequía", "water"),
        ("coleta de lixo", "waste"),
        ("enchentes e alagamentos", "flood-risk"),
        ("população em situação de rua", "housing"),
        ("painéis solares", "energy-transition"),
        ("canicule", "climate-adaptation"),
        ("séisme", "resilience"),
        ("sans-abri", "housing"),
        ("tramway", "urban-mobility"),
        ("垃圾分类", "waste"),
        ("海绵城市", "flood-risk"),
    ],
)
def test_everyday_words_of_each_language_name_a_topic(text: str, topic: str) -> None:
    assert topic in map_text_to_topics(text)


@pytest.mark.parametrize(
    "text",
    [
        "our smart specialisation strategy",
        "smart specialization",
        "estrategia de especialización inteligente",
        "especialização inteligente",
        "spécialisation intelligente",
    ],
)
def test_smart_specialisation_is_innovation_not_smart_city(text: str) -> None:
    found = map_text_to_topics(text)
    assert "smart-city" not in found
    assert {"innovation", "economic-development"} <= set(found)
    assert "smart-city" in map_text_to_topics("a smart city data platform")


def test_a_word_is_not_taken_for_another_that_its_stem_shares() -> None:
    # French stems "urbanisme" as "urban"; "Porto" the city is not a port.
    assert "governance" not in map_text_to_topics("urban nature-based solutions")
    assert "port-logistics" not in map_text_to_topics("Porto Alegre e Porto")


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        # Phrases whose meaning rests on a stop word are not their one content word.
        ("high levels of particulate matter", "flood-risk"),  # "sea level"
        ("the tram runs every ten minutes", "flood-risk"),  # "run off"
        ("a start to the new programme", "innovation"),  # "start up"
        ("holiday traffic on the coast road", "housing"),  # "holiday let"
        ("el derecho a la ciudad", "sdg-16"),  # "estado de derecho"
        ("está tudo bem com o projeto", "health"),  # "bem-estar"
        # Shared stems: a boy is not a girl, a car park is not a park, a sewer connection is
        # not connectivity.
        ("los niños de la escuela", "gender"),
        ("Fenómeno El Niño", "gender"),
        ("parking spaces in the centre", "nature-based-solutions"),
        ("no sewer connection", "smart-city"),
    ],
)
def test_a_word_does_not_name_a_topic_it_only_shares_a_stem_or_a_stop_word_with(
        text: str, wrong: str) -> None:
    assert wrong not in map_text_to_topics(text)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("sea level", "flood-risk"),
        ("rainwater run-off", "flood-risk"),
        ("start-ups and spin-offs", "innovation"),
        ("personas sin hogar", "housing"),
        ("the well-being of older people", "health"),
        ("las niñas", "gender"),
        ("urban parks", "nature-based-solutions"),
        ("parking", "urban-mobility"),
        ("las lluvias del Fenómeno El Niño", "climate-adaptation"),
        ("las lluvias intensas inundan los barrios", "flood-risk"),
        ("huaicos", "resilience"),
    ],
)
def test_the_whole_phrase_still_names_its_topic(text: str, topic: str) -> None:
    assert topic in map_text_to_topics(text)


def test_the_partner_import_reads_everyday_words_as_topics() -> None:
    offered: dict[str, str | None] = {t.slug: t.slug for t in vocabulary()}
    for cell in ("bicycle lanes and a tram", "garbage, solar", "heatwave; drought",
                 "enchentes e alagamentos", "垃圾分类"):
        slugs, problem = topics_from_cell(cell.replace(";", ","), offered)
        assert problem is None and slugs, cell
    assert topics_from_cell("we want residents", offered)[1] is not None


# --- stop words and generic words ------------------------------------------------------------


GENERIC = "We want and need to improve the city for our residents and citizens. "


def test_generic_words_never_count_as_terms_in_any_language() -> None:
    assert terms(GENERIC) == []
    assert terms("Queremos mejorar la ciudad para los vecinos y necesitamos un proyecto.") == []
    assert terms("Nous voulons améliorer la ville pour les habitants.") == []
    assert terms("Precisamos melhorar a cidade para os moradores.") == []
    assert {"want", "need", "resident", "residents"} <= generic_words()
    # "keep housing affordable", "keep young companies": the verb says nothing of the challenge
    assert terms("We want to keep rents down and keep people here.") == ["rent"]
    assert {"the", "los", "les", "os"} <= stop_words()


def test_stop_words_and_generic_words_are_never_reasons() -> None:
    case = profile("case", GENERIC + "Protected bicycle lanes along the river.")
    partner = profile("partner", GENERIC + "Bicycle lanes and river parks.")
    bland = profile("bland", GENERIC)
    scorer = Scorer([case, partner, bland, profile("other", "Landfill capacity.")])

    shown = scorer.score(case, partner).matched_terms
    assert {"bicycle", "lanes", "river"} <= set(shown)
    words = {w.lower() for w in shown}
    assert not words & (generic_words() | stop_words())
    assert scorer.score(case, bland).matched_terms == ()
    # Nor does a generic sentence make a topic.
    assert map_text_to_topics(GENERIC) == []


# --- zero scores ------------------------------------------------------------------------------


def test_a_partner_that_scores_zero_is_still_suggested_last() -> None:
    case = profile("case", topics=frozenset({"water"}))
    match = profile("match", topics=frozenset({"water"}))
    nothing = profile("nothing", topics=frozenset({"housing"}))
    scorer = Scorer([case, match, nothing], semantic_weight=0)

    found = suggest(case, [nothing, match], scorer)
    assert [s.partner.name for s in found] == ["match", "nothing"]
    assert found[-1].score == 0.0
    # The call-wide optimum still never proposes a pair with nothing in common.
    assert [(a.case.key, a.partner.key) for a in optimum([case], [nothing], scorer)] == []


# --- statement vectors --------------------------------------------------------------------


class DictStore:
    """A store of statement vectors in a dict, counting what it is asked for."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.loads = 0

    def load(self, keys):
        self.loads += 1
        return {k: self.rows[k] for k in keys if k in self.rows}

    def save(self, vectors):
        self.rows.update(vectors)


def test_an_unchanged_statement_is_never_embedded_twice() -> None:
    calls: list[int] = []
    from workflows.embeddings import use_encoder

    def counting(batch):
        calls.append(len(batch))
        return use_encoder()(batch)

    store = DictStore()
    first = Embeddings(store=store, encoder=counting)
    a, b = first.of([EU, SAME_PT])
    assert sum(calls) == len(sentences(EU)) + len(sentences(SAME_PT))
    assert set(store.rows) == {statement_key(EU), statement_key(SAME_PT)}
    first.of([EU, SAME_PT, EU])
    assert len(calls) == 1  # from memory
    # Another process finds them in the store; only a changed statement is embedded.
    second = Embeddings(store=store, encoder=counting)
    again, changed = second.of([EU, SAME_PT + " Mais uma frase sobre o centro."])
    assert len(calls) == 2 and calls[-1] == len(sentences(SAME_PT)) + 1
    np.testing.assert_allclose(again.mean, a.mean, atol=1e-6)
    assert second.embedded == 1 and first.embedded == 2
    assert statement_key(EU) != statement_key(EU + " ")
    assert abs(float(np.linalg.norm(changed.mean)) - 1) < 1e-5
    assert not Embeddings(encoder=counting).of([""])[0].sentences


def test_matrix_equals_score_with_meaning() -> None:
    cases = [profile("a", EU), profile("b", OTHER_PT, frozenset({"waste"})), profile("c")]
    partners = [profile("x", SAME_PT), profile("y", "Bicycle lanes."), profile("z")]
    scorer = Scorer([*cases, *partners[:2]])
    matrix = scorer.matrix(cases, partners)
    expected = np.array([[scorer.score(c, p).score for p in partners] for c in cases])
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-9)
    together = scorer.explain_all([(c, p) for c in cases for p in partners])
    np.testing.assert_allclose([s.score for s in together], expected.ravel(), atol=1e-9)


# --- the evaluation -------------------------------------------------------------------------


HEADER = "eu_city,eu_country,partner_city,partner_country,partner_region"
TWO_SIDED = (
    HEADER + ",eu_topics,partner_topics,eu_statement,partner_statement\n"
    'Lisbon,Portugal,Recife,Brazil,Latin America and the Caribbean,"tourism, short-term rentals",'
    f'"turismo; moradia","{EU}","{SAME_PT}"\n'
    'Ljubljana,Slovenia,Belém,Brazil,Latin America and the Caribbean,"waste;circular-economy",'
    '"resíduos sólidos","Separate collection of biowaste and a reuse centre.","' + OTHER_PT + '"\n'
    "Ghent,Belgium,Bogotá,Colombia,Latin America and the Caribbean,cycling and car-free streets,"
    "ciclovía,,Queremos más ciclorrutas y la ciclovía dominical.\n"
    "Tampere,Finland,Chengdu,China,Asia,tram,交通拥堵,"
    "Our first tram line opened and we extend it.,我们正在建设有轨电车，缓解交通拥堵。\n"
)
ONE_TEXT = (
    HEADER + ",topics\n"
    "Aveiro,Portugal,Zapopan,Mexico,Latin America and the Caribbean,urban mobility\n"
    "Cork,Ireland,Tijuana,Mexico,Latin America and the Caribbean,port logistics\n"
)


def run(*args: str):
    return CliRunner().invoke(main, ["pairing", "evaluate", *args], catch_exceptions=False)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_evaluate_reads_a_two_sided_table_in_both_pools(tmp_path: Path) -> None:
    table = tmp_path / "two.csv"
    table.write_text(TWO_SIDED, encoding="utf-8")
    pairs = read_table(table)
    assert pairs[0][1].statement == SAME_PT and pairs[0][1].topics == "turismo; moradia"
    assert topics_of("waste;circular-economy") == (frozenset({"waste", "circular-economy"}), "")
    assert topics_of("turismo; moradia")[0] == {"tourism", "housing"}

    country = run(str(table))
    assert country.exit_code == 0, country.output
    assert re.fullmatch(r"top1=\d\.\d\d top3=\d\.\d\d", last_line(country.output))
    assert last_line(country.output) == "top1=1.00 top3=1.00"
    region = run(str(table), "--pool", "region")
    assert region.exit_code == 0 and "(region pool)" in region.output
    # Four candidates in Latin America for three rows: the meaning still finds each.
    assert last_line(region.output) == "top1=1.00 top3=1.00"
    assert evaluate(table, "region")[-1].cities == 4


def test_evaluate_reads_the_one_text_table_and_refuses_a_table_without_topics(
        tmp_path: Path) -> None:
    table = tmp_path / "one.csv"
    table.write_text(ONE_TEXT, encoding="utf-8")
    result = run(str(table))
    assert result.exit_code == 0 and last_line(result.output) == "top1=1.00 top3=1.00"
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + ",eu_topics\nA,B,C,D,E,water\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["pairing", "evaluate", str(bad)])
    assert refused.exit_code == 2 and "partner_topics" in refused.output


def test_evaluate_with_baselines_measures_them_in_the_same_run(tmp_path: Path) -> None:
    table = tmp_path / "two.csv"
    table.write_text(TWO_SIDED, encoding="utf-8")
    result = run(str(table), "--baselines", "--pool", "region")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert re.fullmatch(r"baseline tfidf: top1=\d\.\d\d top3=\d\.\d\d", lines[-3])
    assert re.fullmatch(r"baseline minilm: top1=\d\.\d\d top3=\d\.\d\d", lines[-2])
    assert re.fullmatch(r"top1=\d\.\d\d top3=\d\.\d\d", lines[-1])
    # English-only MiniLM cannot read the Chinese partner; the suggester can.
    found = {e.name: e for e in evaluate(table, "region", ("minilm",))}
    assert found["suggester"].top1 >= found["minilm"].top1
