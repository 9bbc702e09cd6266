"""The partner cities registry: create, change, list, and the all-or-nothing CSV import."""

from __future__ import annotations

import io
from html import unescape

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp.db import db
from webapp.errors import Forbidden
from webapp.models import PartnerCity
from webapp.operations import pairing

pytestmark = pytest.mark.integration

HEADER = "name,country,region,population,topics,challenge_statement,contact_name,contact_email\n"
GOOD = HEADER + (
    "Curitiba,Brazil,Latin America and the Caribbean,1948626,urban-mobility;smart-city,"
    "Bus rapid transit for a growing city,Ana Souza,ana@curitiba.br\n"
    "Guadalajara,MX,Latin America and the Caribbean,\"1,385,629\","
    "\"water and waste management\",Cleaner rivers,,\n"
    "Toronto,Canada,North America,,housing,,,\n"
)


def partner_count() -> int:
    return db.session.scalar(select(func.count(PartnerCity.id)))


def upload(browser, content: str):
    browser.get("/office/pairing/partners/import")
    return browser.post("/office/pairing/partners/import",
                        {"file": (io.BytesIO(content.encode()), "partners.csv")},
                        content_type="multipart/form-data")


def test_csv_import_adds_every_row_with_topics_and_contacts(world, browser):
    browser.login(world.coordinator.email)
    before = partner_count()
    resp = upload(browser, GOOD)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert partner_count() == before + 3
    curitiba = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Curitiba"))
    assert [t.slug for t in curitiba.topics] == ["smart-city", "urban-mobility"]
    assert curitiba.contacts == [{"name": "Ana Souza", "email": "ana@curitiba.br", "role": ""}]
    guadalajara = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Guadalajara"))
    # Free text is mapped onto the vocabulary; the population's separators are read.
    assert {t.slug for t in guadalajara.topics} == {"water", "waste"}
    assert guadalajara.population == 1_385_629 and guadalajara.contacts == []
    # Countries come as names or codes and are kept as codes.
    assert (curitiba.country, guadalajara.country) == ("BR", "MX")
    page = browser.get("/office/pairing/partners").get_data(as_text=True)
    assert "3 partner cities imported." in page
    assert "Curitiba" in page and "Toronto" in page


def test_a_partner_is_a_city_or_a_region_in_the_csv_and_the_form(world, browser):
    browser.login(world.coordinator.email)
    content = HEADER.rstrip("\n") + ",kind\n" + (
        "Paraná,Brazil,Latin America and the Caribbean,11400000,innovation;energy-transition,"
        "Bioeconomy and clean energy,,,region\n"
        "Curitiba,Brazil,Latin America and the Caribbean,1948626,urban-mobility,,,,City\n"
        "Quito,Ecuador,Latin America and the Caribbean,,water,,,,\n")
    resp = upload(browser, content)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    kinds = dict(db.session.execute(select(PartnerCity.name, PartnerCity.kind).where(
        PartnerCity.name.in_(["Paraná", "Curitiba", "Quito"]))).all())
    assert kinds == {"Paraná": "region", "Curitiba": "city", "Quito": "city"}
    page = browser.get("/office/pairing/partners").get_data(as_text=True)
    assert "Region" in page
    bad = content.replace(",region\n", ",province\n").replace("Paraná", "Santa Catarina")
    resp = upload(browser, bad.replace("Curitiba", "Joinville").replace("Quito", "Cuenca"))
    assert resp.status_code == 400
    assert "Row 2: kind 'province' is not city or region." in unescape(resp.get_data(as_text=True))
    parana = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Paraná"))
    edit = f"/office/pairing/partners/{parana.id}/edit"
    page = browser.get(edit).get_data(as_text=True)
    assert '<option selected value="region">' in page or \
        '<option value="region" selected>' in page
    resp = browser.post(edit, {"kind": "nation", "name": "Paraná", "country": "BR",
                               "region": "Latin America and the Caribbean",
                               "topics": ["innovation"]})
    assert resp.status_code == 400 and "Not a valid choice" in resp.get_data(as_text=True)


def test_csv_import_with_a_bad_row_imports_nothing_and_names_each_row(world, browser):
    browser.login(world.coordinator.email)
    before = partner_count()
    bad = GOOD + (
        "Atlantis,Nowhere,Mars,12,water,,,\n"
        "Lima,Peru,Latin America and the Caribbean,many,smart-city;not-a-topic,,,lima@\n"
        "Curitiba,Brazil,Latin America and the Caribbean,,water,,,\n"
        "Rosario,Argentina,Latin America and the Caribbean,,zzz qqq,,,\n"
    )
    resp = upload(browser, bad)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Nothing was imported: 4 of 7 rows need correcting." in page
    assert ("Row 5: country &#39;Nowhere&#39; is not a country: give its ISO code (e.g. AR) "
            "or its name; region &#39;Mars&#39; is not a world region.") in page
    assert "Row 6: population &#39;many&#39; is not a whole number" in page
    assert "topic &#39;not-a-topic&#39; is not in the vocabulary" in page
    assert "contact e-mail &#39;lima@&#39; is not an e-mail address" in page
    assert "Row 7: Curitiba (Brazil) is also on row 2." in page
    assert ("Row 8: no topic of the vocabulary found in &#39;zzz qqq&#39;; "
            "Rosario (Argentina) is already registered.") in page
    assert "Row 2" not in page.replace("on row 2", "")
    assert partner_count() == before


def test_csv_import_refuses_a_file_without_the_columns_or_rows(world):
    with pytest.raises(pairing.ImportRefused) as exc:
        pairing.import_partner_cities("name,country\nLima,Peru\n", world.coordinator)
    assert "Missing columns: region, population, topics" in exc.value.reasons[0]
    with pytest.raises(pairing.ImportRefused, match="no partner cities below its header"):
        pairing.import_partner_cities(HEADER, world.coordinator)
    with pytest.raises(pairing.ImportRefused, match="not a UTF-8 text file"):
        pairing.import_partner_cities(HEADER.encode() + b"\xff\xfe\x00", world.coordinator)


def test_csv_import_keeps_a_scoped_coordinator_in_their_region(world):
    with pytest.raises(pairing.ImportRefused) as exc:
        pairing.import_partner_cities(GOOD, world.coordinator_latam)
    assert exc.value.reasons == ("Row 4: North America is outside your region.",)
    too_many = HEADER + ("Lima,Peru,Latin America and the Caribbean,,"
                         "water;waste;housing;health;education;tourism,,,\n")
    with pytest.raises(pairing.ImportRefused) as exc:
        pairing.import_partner_cities(too_many, world.coordinator)
    assert "6 topics found" in exc.value.reasons[0]


def test_create_and_change_a_partner_city_over_http(world, browser):
    browser.login(world.coordinator.email)
    assert browser.get("/office/pairing/partners/new").status_code == 200
    form = {"name": "Montevideo", "country": "UY",
            "region": "Latin America and the Caribbean", "population": "1300000",
            "challenge_statement": "Coastal flooding and port logistics",
            "contacts-0-name": "Marta Díaz", "contacts-0-email": "Marta@Montevideo.uy",
            "contacts-0-role": "International relations", "contacts-1-name": "",
            "contacts-1-email": "", "contacts-1-role": ""}
    # No topic chosen: the form comes back with what was typed and the problem.
    resp = browser.post("/office/pairing/partners/new", form)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Choose at least one topic." in page and 'value="Montevideo"' in page
    assert partner_count() == 2
    resp = browser.post("/office/pairing/partners/new",
                        {**form, "topics": ["flood-risk", "port-logistics"]})
    assert resp.status_code == 302
    pc = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Montevideo"))
    assert {t.slug for t in pc.topics} == {"flood-risk", "port-logistics"}
    assert pc.contacts == [{"name": "Marta Díaz", "email": "marta@montevideo.uy",
                            "role": "International relations"}]
    edit = f"/office/pairing/partners/{pc.id}/edit"
    page = browser.get(edit).get_data(as_text=True)
    assert 'value="marta@montevideo.uy"' in page
    resp = browser.post(edit, {**form, "name": "Rosario", "country": "AR",
                               "topics": ["water"]})
    assert resp.status_code == 400
    assert "Rosario (Argentina) is already registered." in resp.get_data(as_text=True)
    resp = browser.post(edit, {**form, "population": "1400000", "topics": ["water"],
                               "contacts-0-name": "", "contacts-0-email": "",
                               "contacts-0-role": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    pc = db.session.get(PartnerCity, pc.id)
    assert pc.population == 1_400_000 and [t.slug for t in pc.topics] == ["water"]
    assert pc.contacts == []


def test_scoped_coordinator_manages_only_their_region(world, browser):
    browser.login(world.coordinator_latam.email)
    page = browser.get("/office/pairing/partners").get_data(as_text=True)
    assert "Rosario" in page and "Yokohama" not in page
    assert browser.get(f"/office/pairing/partners/{world.partner_city_asia.id}/edit"
                       ).status_code == 403
    with pytest.raises(Forbidden):
        pairing.save_partner_city(world.coordinator_latam, pairing.PartnerCityData(
            "Osaka", "JP", "Asia", topics=("water",)))


def test_partner_list_searches_and_filters(world, browser):
    pairing.import_partner_cities(GOOD, world.coordinator)
    browser.login(world.admin.email)
    page = browser.get("/office/pairing/partners?region=North+America").get_data(as_text=True)
    assert "Toronto" in page and "Curitiba" not in page and "Rosario" not in page
    page = browser.get("/office/pairing/partners?country=brazil").get_data(as_text=True)
    assert "Curitiba" in page and "Guadalajara" not in page
    page = browser.get("/office/pairing/partners?q=rivers").get_data(as_text=True)
    assert "Guadalajara" in page and "Curitiba" not in page and "1 partner city" in page


def test_applicants_cannot_reach_the_registry(world, browser):
    browser.login(world.applicant_a.email)
    assert browser.get("/office/pairing/partners").status_code == 403
    assert browser.get("/office/pairing/partners/import").status_code == 403


def test_cli_imports_partner_cities(app, world, tmp_path, monkeypatch):
    from webapp.cli import main

    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("CITYPAIR_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("CITYPAIR_ENV", "development")  # a weak key against a database server
    # The command builds its own app, which re-binds the process's one limiter: left on, it
    # would count every later test's sign-ins.
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(HEADER + "Atlantis,Nowhere,Mars,,water,,,\n", encoding="utf-8")
    before = partner_count()
    result = CliRunner().invoke(main, ["pairing", "import-partners", str(bad)])
    assert result.exit_code == 1
    assert "region 'Mars' is not a world region." in result.output
    assert partner_count() == before
    result = CliRunner().invoke(main, ["pairing", "import-partners", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("3 partner cities imported")
    assert partner_count() == before + 3


def test_csv_import_accepts_everyday_words_in_any_language(world):
    rows = HEADER + (
        "Pune,India,Asia,,bicycle lanes and a tram,Cycle tracks and footpaths,,\n"
        "Indore,India,Asia,,garbage,Segregation at source,,\n"
        "Jaipur,India,Asia,,\"heatwave, drought\",Cool roofs for the hottest wards,,\n"
        "Chennai,India,Asia,,stormwater,,,\n"
        "Sendai,Japan,Asia,,earthquake,,,\n"
        "Kyoto,Japan,Asia,,overtourism,,,\n"
        "Edmonton,Canada,North America,,homelessness,,,\n"
        "Sherbrooke,Canada,North America,,énergie solaire,,,\n"
        "Recife,Brazil,Latin America and the Caribbean,,enchentes e coleta de lixo,,,\n"
        "Hangzhou,China,Asia,,垃圾分类,,,\n"
    )
    assert pairing.import_partner_cities(rows, world.coordinator) == 10
    topics = {pc.name: {t.slug for t in pc.topics}
              for pc in db.session.scalars(select(PartnerCity))}
    assert topics["Pune"] == {"urban-mobility"}
    assert topics["Indore"] == {"waste"}
    assert {"climate-adaptation", "water"} <= topics["Jaipur"]
    assert topics["Chennai"] == {"flood-risk"} and topics["Sendai"] == {"resilience"}
    assert topics["Kyoto"] == {"tourism"} and "housing" in topics["Edmonton"]
    assert topics["Sherbrooke"] == {"energy-transition"}
    assert topics["Recife"] == {"flood-risk", "waste"} and topics["Hangzhou"] == {"waste"}


def test_a_saved_statement_is_embedded_once_and_kept_in_the_database(world):
    from webapp.models import StatementEmbedding
    from workflows.embeddings import Embeddings, statement_key

    text = "Las lluvias torrenciales inundan los barrios bajos. Queremos un sistema de alerta."
    pc = pairing.save_partner_city(world.coordinator, pairing.PartnerCityData(
        name="Manizales", country="CO", region="Latin America and the Caribbean",
        topics=("resilience",), challenge_statement=text))
    stored = db.session.get(StatementEmbedding, statement_key(text))
    assert stored is not None and len(stored.vectors) == 2 * 512 * 2  # two float16 sentences
    # Another process finds the vectors in the database and embeds nothing.
    def refuse(batch):
        raise AssertionError(f"embedded again: {batch}")

    fresh = Embeddings(store=pairing.StoredVectors(), encoder=refuse)
    assert fresh.of([pc.challenge_statement])[0].sentences == (
        "Las lluvias torrenciales inundan los barrios bajos.", "Queremos un sistema de alerta.")
    # A changed statement gets its own vectors; the old ones stay for the old text.
    changed = text + " Y mapas de riesgo."
    pairing.save_partner_city(world.coordinator, pairing.PartnerCityData(
        name="Manizales", country="CO", region="Latin America and the Caribbean",
        topics=("resilience",), challenge_statement=changed), pc.id)
    keys = [statement_key(text), statement_key(changed)]
    assert db.session.scalar(select(func.count()).select_from(StatementEmbedding).where(
        StatementEmbedding.key.in_(keys))) == 2
