"""The topic vocabulary in the browser: add, rename per language, retire, bring back and merge
topics, and what each does to the forms, the import, the filters, the pages and a later
install."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from webapp.db import db
from webapp.errors import OperationError
from webapp.models import AuditEvent, Case, PartnerCity, Topic
from webapp.operations import applications, pairing, vocabulary
from webapp.operations.setup import load_partner_cities_from_history, load_topics

pytestmark = pytest.mark.integration

HEADER = "name,country,region,population,topics,challenge_statement,contact_name,contact_email\n"


def page_text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def visible(resp) -> str:
    """The words a page shows, without its markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def topic(slug: str) -> Topic:
    db.session.expire_all()
    return db.session.get(Topic, slug)


def admin_browser(make_browser, world):
    browser = make_browser()
    browser.login(world.admin.email)
    return browser


def draft_case(world) -> Case:
    case = applications.start_application(world.applicant_a, world.call.id)
    return complete_application(db.session.get(Case, case.id))


def offered_in_application(make_browser, world, case: Case) -> str:
    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    return page_text(applicant.get(f"/my/cases/{case.id}/sections/topics"))


def test_an_added_topic_is_offered_everywhere_and_audited(world, make_browser):
    admin = admin_browser(make_browser, world)
    resp = admin.post("/office/admin/topics/new", {
        "label_en": "Night-time economy", "label_fr": "Économie de la nuit", "family": "theme"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        "/office/admin/topics/night-time-economy")
    added = topic("night-time-economy")
    assert added.label_en == "Night-time economy" and added.labels == {"fr": "Économie de la nuit"}
    assert "Night-time economy" in offered_in_application(make_browser, world, draft_case(world))
    assert "Night-time economy" in admin.get("/office/pairing/partners/new").get_data(
        as_text=True)
    imported = pairing.read_partner_csv(
        HEADER + "Bogotá,Colombia,Latin America and the Caribbean,,night-time-economy;housing"
                 ",,,\n", world.coordinator)
    assert imported[0].topics == ("night-time-economy", "housing")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "add_topic"))
    assert event.case_id is None and event.payload["topic"] == "night-time-economy"
    # The same code again is refused, with what was typed kept.
    resp = admin.post("/office/admin/topics/new", {"label_en": "Night time economy",
                                                   "family": "theme"})
    assert resp.status_code == 400
    assert "<li>The topic “Night-time economy” (night-time-economy) exists already.</li>" in \
        page_text(resp) and 'value="Night time economy"' in page_text(resp)
    resp = admin.post("/office/admin/topics/new", {"label_en": "", "family": "planet"})
    assert resp.status_code == 400 and "Give the topic an English label." in page_text(resp)


def test_labels_follow_the_reader_s_language_and_survive_a_later_install(world, make_browser):
    case = draft_case(world)
    admin = admin_browser(make_browser, world)
    resp = admin.post("/office/admin/topics/smart-city", {
        "label_en": "Smart and digital cities", "label_fr": "Villes intelligentes",
        "label_es": "", "label_pt": "Cidades inteligentes"})
    assert resp.status_code == 303
    assert load_topics() == 0  # a later install adds nothing and changes nothing
    assert topic("smart-city").label_en == "Smart and digital cities"
    assert topic("smart-city").labels == {"fr": "Villes intelligentes",
                                          "pt": "Cidades inteligentes"}

    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    for lang, label in (("fr", "Villes intelligentes"), ("es", "Smart and digital cities"),
                        ("en", "Smart and digital cities")):
        applicant.post("/language", {"lang": lang, "next": "/my/"})
        page = page_text(applicant.get(f"/my/cases/{case.id}/check"))
        assert label in page, lang
    [event] = vocabulary.history(db.session, "smart-city")
    assert event.payload["before"]["labels"]["en"] == "Smart city and digital transition"
    assert "Smart and digital cities" in page_text(admin.get("/office/admin/topics/smart-city"))
    # A topic needs its English label; the form keeps what was typed.
    resp = admin.post("/office/admin/topics/smart-city", {"label_en": " ", "label_fr": "Villes"})
    assert resp.status_code == 400 and 'value="Villes"' in page_text(resp)


def test_a_retired_topic_stays_where_it_is_and_is_offered_no_more(world, make_browser):
    case = draft_case(world)  # smart-city and urban-mobility
    admin = admin_browser(make_browser, world)
    assert admin.post("/office/admin/topics/urban-mobility/retire").status_code == 303
    assert topic("urban-mobility").retired
    # Kept on the case (and still ticked in its own form), not offered to a new choice.
    assert "urban-mobility" in {t.slug for t in db.session.get(Case, case.id).topics}
    page = offered_in_application(make_browser, world, case)
    assert re.search(r'value="urban-mobility"\s+checked', page)
    other = applications.start_application(world.applicant_b, world.call.id)
    porto = make_browser()
    porto.login(world.applicant_b.email)
    assert 'value="urban-mobility"' not in page_text(
        porto.get(f"/my/cases/{other.id}/sections/topics"))
    assert 'value="urban-mobility"' not in admin.get("/office/pairing/partners/new").get_data(
        as_text=True)
    with pytest.raises(pairing.ImportRefused) as refused:
        pairing.read_partner_csv(HEADER + "Lima,Peru,Latin America and the Caribbean,,"
                                          "urban-mobility;housing,,,\n", world.coordinator)
    assert "topic 'urban-mobility' is retired" in refused.value.reasons[0]
    # Saving the case's topics keeps it; an applicant cannot pick it anew through the API path.
    applications.save_section(case.id, world.applicant_a, "topics",
                              {"topics": ["urban-mobility", "water"], "challenge_statement": "x"})
    assert {t.slug for t in db.session.get(Case, case.id).topics} == {"urban-mobility", "water"}
    applications.save_section(other.id, world.applicant_b, "topics",
                              {"topics": ["urban-mobility", "water"], "challenge_statement": "x"})
    assert {t.slug for t in db.session.get(Case, other.id).topics} == {"water"}
    # The case list still finds the cases that have it; a later install does not revive it.
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert case.reference in page_text(coordinator.get("/office/cases?topic=urban-mobility"))
    load_topics()
    assert topic("urban-mobility").retired
    # Retiring twice is said so; bringing it back offers it again.
    assert admin.post("/office/admin/topics/urban-mobility/retire").status_code == 400
    assert admin.post("/office/admin/topics/urban-mobility/reinstate").status_code == 303
    assert not topic("urban-mobility").retired
    assert [e.action for e in vocabulary.history(db.session, "urban-mobility")] == [
        "reinstate_topic", "retire_topic"]


def test_a_merge_moves_every_case_and_partner_city_in_one_step(world, make_browser):
    both = draft_case(world)  # smart-city and urban-mobility
    only = db.session.get(Case, applications.start_application(world.applicant_b,
                                                                 world.call.id).id)
    only.topics = [db.session.get(Topic, "smart-city")]
    db.session.commit()
    admin = admin_browser(make_browser, world)
    page = visible(admin.get("/office/admin/topics/smart-city"))
    assert "Cases with this topic 2" in page and "Partner cities with this topic 2" in page
    resp = admin.post("/office/admin/topics/smart-city/merge", {"survivor": "urban-mobility"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/urban-mobility")
    assert "Merged: 2 case(s) and 2 partner city(ies) now have “urban-mobility” instead." in \
        visible(admin.get(resp.headers["Location"]))
    merged = topic("smart-city")
    assert merged.retired and merged.merged_into == "urban-mobility"
    assert {t.slug for t in db.session.get(Case, both.id).topics} == {"urban-mobility"}
    assert {t.slug for t in db.session.get(Case, only.id).topics} == {"urban-mobility"}
    for city in db.session.scalars(select(PartnerCity)):
        assert "smart-city" not in {t.slug for t in city.topics}
        assert "urban-mobility" in {t.slug for t in city.topics}
    [event] = [e for e in vocabulary.history(db.session, "urban-mobility")
               if e.action == "merge_topics"]
    assert event.payload == {"topic": "smart-city", "survivor": "urban-mobility", "cases": 2,
                             "partner_cities": 2}
    # The old code still finds its topic: in an import, and in the 2017 table's filter.
    rows = pairing.read_partner_csv(HEADER + "Quito,Ecuador,Latin America and the Caribbean,,"
                                             "smart-city;water,,,\n", world.coordinator)
    assert rows[0].topics == ("urban-mobility", "water")
    public = page_text(make_browser().get("/pairings?topic=smart-city"))
    assert 'value="smart-city"' not in public
    # Pairing suggestions read the moved topics and name them.
    suggestions = pairing.suggestions_for(both.id, world.admin)
    assert suggestions is not None
    # A merged topic cannot come back or be merged again, or be renamed.
    assert admin.post("/office/admin/topics/smart-city/reinstate").status_code == 400
    with pytest.raises(OperationError, match="merged already"):
        vocabulary.merge_topics(world.admin, "smart-city", "water")
    with pytest.raises(OperationError, match="rename that one"):
        vocabulary.rename_topic(world.admin, "smart-city", {"en": "Smart"})


def test_a_merge_is_refused_with_a_reason_and_changes_nothing(world, make_browser):
    case = draft_case(world)
    admin = admin_browser(make_browser, world)
    admin.post("/office/admin/topics/water/retire")
    resp = admin.post("/office/admin/topics/smart-city/merge", {"survivor": "water"})
    assert resp.status_code == 400  # a retired topic is not among the choices
    with pytest.raises(OperationError, match="is retired"):
        vocabulary.merge_topics(world.admin, "smart-city", "water")
    with pytest.raises(OperationError, match="another topic"):
        vocabulary.merge_topics(world.admin, "smart-city", "smart-city")
    resp = admin.post("/office/admin/topics/smart-city/merge", {"survivor": ""})
    assert resp.status_code == 400 and "Choose the topic to merge into." in page_text(resp)
    assert not topic("smart-city").retired
    assert "smart-city" in {t.slug for t in db.session.get(Case, case.id).topics}
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/admin/topics").status_code == 403
    with pytest.raises(OperationError):
        vocabulary.retire_topic(world.coordinator, "smart-city")


def test_partner_cities_loaded_later_get_the_vocabulary_as_it_is_now(world):
    vocabulary.merge_topics(world.admin, "smart-city", "urban-mobility")
    vocabulary.retire_topic(world.admin, "water")
    assert load_partner_cities_from_history() > 0
    given = {t.slug for city in db.session.scalars(select(PartnerCity)) for t in city.topics}
    assert "urban-mobility" in given and not given & {"smart-city", "water"}
