"""A case paired with several partner cities: each accepts and signs as a party of its own, mail
and reminders reach every partner's contacts, one partner declining leaves the others paired,
and a case that ends releases all of them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import render_template
from sqlalchemy import select

from tests.factories import complete_application, sign_agreement, user
from webapp import wording
from webapp.access import can_view_case, visible_cases
from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.mail import outbox, rendering
from webapp.models import (
    Case,
    CasePartner,
    Deadline,
    Deliverable,
    Notification,
    PartnerCity,
    PartyFact,
    Reminder,
    Signature,
    Topic,
    UserRole,
)
from webapp.operations import agreements, applications, caselist, cases, pairing, tallies, tokens
from webapp.operations import reminders as sweeper
from webapp.operations.caselist import CaseFilters
from webapp.public import showcase

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
LATAM = "Latin America and the Caribbean"


def second_partner(name: str = "Medellín", email: str = "mateo@medellin.co"):
    """A second partner city in the call's region, with one contact account."""
    pc = PartnerCity(name=name, country="CO", region=LATAM,
                     challenge_statement="urban mobility and public transport",
                     topics=list(db.session.scalars(select(Topic).where(
                         Topic.slug == "urban-mobility"))))
    db.session.add(pc)
    db.session.flush()
    person = user(email, UserRole.PARTNER, partner_city=pc)
    db.session.commit()
    return pc, person


def waiting(world, applicant=None) -> Case:
    applicant = applicant or world.applicant_a
    case = db.session.get(Case, applications.start_application(applicant, world.call.id).id)
    complete_application(case)
    cases.fire(case.id, "submit", applicant)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    return fresh(case.id)


def proposed_to_two(world):
    """A case proposed to Rosario, then to Medellín as a second partner."""
    medellin, mateo = second_partner()
    case = waiting(world)
    pairing.propose(case.id, world.coordinator, world.partner_city.id, expected_version=None)
    fired = pairing.propose(case.id, world.coordinator, medellin.id, expected_version=None)
    assert fired.transition == "add_partner" and fired.target == "pairing_proposed"
    return fresh(case.id), medellin, mateo


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def mails(case_id: int, template: str) -> set[str]:
    return set(db.session.scalars(select(Notification.to_email).where(
        Notification.case_id == case_id, Notification.template == template)))


def test_every_partner_accepts_and_signs_before_the_case_moves_on(world, browser):
    case, medellin, mateo = proposed_to_two(world)
    assert [p.name for p in case.partners] == ["Rosario", "Medellín"]
    assert case.partner_city_id == world.partner_city.id  # the first proposed leads
    assert case.parties == ("applicant", f"partner:{world.partner_city.id}",
                            f"partner:{medellin.id}")
    # Both partners' contacts are told of the proposal and may see and answer it.
    assert {"rosa@rosario.ar", "mateo@medellin.co"} <= mails(case.id, "pairing_proposed")
    # Each partner's contact is written to as a contact of its own city.
    to_mateo = db.session.scalar(select(Notification).where(
        Notification.case_id == case.id, Notification.to_email == "mateo@medellin.co"))
    text = rendering.render(to_mateo)[1]
    assert "contact person of Medellín" in text
    assert can_view_case(mateo, case) and can_view_case(world.partner, case)
    assert db.session.scalars(visible_cases(mateo)).all() == [case]

    cases.fire(case.id, "accept_pairing", world.applicant_a)
    waiting_for = cases.fire(case.id, "accept_pairing", world.partner)
    assert not waiting_for.moved and waiting_for.target == "pairing_proposed"
    # The pairing page shows who has accepted and who has not.
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    rosario, medellin_card = page.split("Proposed partner: Medellín")
    assert "Accepted" in rosario.split("Proposed partner: Rosario")[1]
    assert "Not yet accepted" in medellin_card.split("Suggested partners")[0]
    with pytest.raises(Refused):  # Rosario cannot accept for Medellín
        cases.fire(case.id, "accept_pairing", world.partner)

    last = cases.fire(case.id, "accept_pairing", mateo)
    assert last.moved and last.target == "agreement_pending"
    assert {"anna@lyon.fr", "rosa@rosario.ar", "mateo@medellin.co"} <= mails(
        case.id, "agreement_to_sign")
    agreement = agreements.current(db.session, case.id)
    assert "Rosario" in agreement.html and "Medellín" in agreement.html
    assert agreement.html.count("For Medellín") == 1

    sign_agreement(case.id, world.applicant_a)
    sign_agreement(case.id, world.partner)
    assert fresh(case.id).state == "agreement_pending"
    page = browser.get("/agreements/").get_data(as_text=True)
    assert "Medellín: " in page and "Rosario: " in page
    sign_agreement(case.id, mateo)
    case = fresh(case.id)
    assert case.state == "cooperation_active"
    assert set(db.session.scalars(select(Signature.party).where(
        Signature.case_id == case.id))) == set(case.parties)
    assert {"rosa@rosario.ar", "mateo@medellin.co"} <= mails(case.id, "cooperation_started")


def test_reminders_reach_each_partner_that_has_not_answered(world):
    case, medellin, mateo = proposed_to_two(world)
    cases.fire(case.id, "accept_pairing", world.partner)
    report = sweeper.sweep(now=utcnow() + 6 * DAY)
    assert report.notifications >= 1
    reminded = mails(case.id, "reminder_pairing_proposed")
    # Rosario has answered; the applicant and Medellín have not.
    assert reminded == {"anna@lyon.fr", "mateo@medellin.co"}


def test_a_partner_declining_leaves_the_others_paired(world):
    case, medellin, mateo = proposed_to_two(world)
    cases.fire(case.id, "accept_pairing", world.partner)
    fired = cases.fire(case.id, "decline_pairing", mateo, {"reason": "No capacity this year."})
    assert not fired.moved and fired.target == "pairing_proposed"
    case = fresh(case.id)
    assert [p.name for p in case.partners] == ["Rosario"]
    assert not can_view_case(mateo, case)
    # Rosario's acceptance stands; the applicant's is what the case waits for now.
    assert {pf.party for pf in case.party_facts} == {f"partner:{world.partner_city.id}"}
    told = db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "pairing_declined")).all()
    assert {n.to_email for n in told} >= {"anna@lyon.fr", "rosa@rosario.ar", "mateo@medellin.co"}
    assert all(n.context["partner_name"] == "Medellín" for n in told)
    # The mail names the partner that declined, and does not send the case back to pairing.
    text = rendering.render(told[0])[1]
    assert "with Medellín has been declined" in text and "back among" not in text
    assert "Rosario stays in the pairing" in text
    assert all(n.context["partners_staying"] == ["Rosario"] for n in told)
    # In the reader's language too, and an admin's own wording may name who stays.
    told[0].locale = "fr"
    assert "Rosario reste dans le jumelage" in rendering.render(told[0])[1]
    assert wording.problems("pairing_declined", "Declined",
                            "{{ partners_staying }} stay. {{ link }}") == {}
    assert wording.problems("pairing_proposed", "Proposed",
                            "{{ partners_staying }} {{ link }} {{ deadline }}")
    assert cases.fire(case.id, "accept_pairing", world.applicant_a).target == "agreement_pending"


def test_the_last_partner_declining_after_the_others_accepted_moves_the_case_on(world):
    case, medellin, mateo = proposed_to_two(world)
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    fired = cases.fire(case.id, "decline_pairing", mateo, {"reason": "Not now."})
    assert fired.moved and fired.target == "agreement_pending"
    case = fresh(case.id)
    assert [p.name for p in case.partners] == ["Rosario"]
    assert "Medellín" not in agreements.current(db.session, case.id).html
    # Who left is not asked to sign.
    assert "mateo@medellin.co" not in mails(case.id, "agreement_to_sign")


def test_the_only_partner_declining_sends_the_case_back_to_pairing(world):
    case = waiting(world)
    pairing.propose(case.id, world.coordinator, world.partner_city.id, expected_version=None)
    fired = cases.fire(case.id, "decline_pairing", world.partner, {"reason": "No."})
    assert fired.target == "awaiting_pairing"
    case = fresh(case.id)
    assert case.partners == [] and case.partner_city_id is None


def test_a_coordinator_removes_a_partner_before_acceptance(world):
    case, medellin, mateo = proposed_to_two(world)
    fired = pairing.remove_partner(case.id, world.coordinator, world.partner_city.id,
                                   expected_version=None)
    assert not fired.moved
    case = fresh(case.id)
    # Medellín is the lead now.
    assert case.partner_city_id == medellin.id and [p.name for p in case.partners] == ["Medellín"]
    with pytest.raises(Refused):
        pairing.remove_partner(case.id, world.coordinator, world.partner_city.id,
                               expected_version=None)
    assert pairing.remove_partner(case.id, world.coordinator, medellin.id,
                                  expected_version=None).target == "awaiting_pairing"


def test_withdrawal_releases_every_partner(world):
    case, medellin, mateo = proposed_to_two(world)
    other = waiting(world, world.applicant_b)
    with pytest.raises(Refused):  # both are taken while the first case holds them
        pairing.propose(other.id, world.coordinator, medellin.id, expected_version=None)
    found = pairing.suggestions_for(other.id, world.coordinator)
    assert {s.partner.name for s in found.suggestions}.isdisjoint({"Rosario", "Medellín"})
    cases.fire(case.id, "withdraw", world.applicant_a, {"reason": "Elections."})
    pairing.propose(other.id, world.coordinator, medellin.id, expected_version=None)
    pairing.propose(other.id, world.coordinator, world.partner_city.id, expected_version=None)
    assert [p.name for p in fresh(other.id).partners] == ["Medellín", "Rosario"]
    # The withdrawn case keeps the record of whom it was paired with.
    assert db.session.scalar(select(CasePartner.id).where(CasePartner.case_id == case.id))


def test_a_partner_already_on_the_case_is_not_added_twice(world):
    case, medellin, mateo = proposed_to_two(world)
    with pytest.raises(Refused) as refused:
        pairing.propose(case.id, world.coordinator, medellin.id, expected_version=None)
    assert "already a partner of this case" in " ".join(refused.value.reasons)
    assert db.session.scalars(select(PartyFact)).all() == []


def test_the_api_lists_every_partner(world, app):
    case, medellin, mateo = proposed_to_two(world)
    secret = tokens.create_token(world.coordinator, "test script").secret
    body = app.test_client().get(f"/api/v1/cases/{case.id}",
                                 headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert body["partner_city"]["name"] == "Rosario"
    assert [p["name"] for p in body["partners"]] == ["Rosario", "Medellín"]


def test_the_board_of_a_call_with_two_partners_per_case_proposes_both(world, browser):
    world.call.max_partners_per_case = 2
    medellin, _mateo = second_partner()
    case = waiting(world)
    # Both partners share the case's topics; Rosario is its best, Medellín close behind.
    world.partner_city.topics = list(case.topics)
    medellin.topics = list(case.topics)
    db.session.commit()
    drawn = pairing.board_for(world.call.id, world.coordinator)
    [row] = [r for r in drawn.rows if r.case.id == case.id]
    assert row.optimum_id is not None and len(row.extra_ids) == 1
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    assert "Further partner" in page
    made = pairing.propose_board(world.call.id, world.coordinator, [
        pairing.BoardChoice(case.id, row.optimum_id, case.version),
        pairing.BoardChoice(case.id, row.extra_ids[0], None)])
    assert made == 2
    case = fresh(case.id)
    assert case.state == "pairing_proposed"
    assert {p.id for p in case.partners} == {world.partner_city.id, medellin.id}


def test_a_case_is_in_the_region_of_every_partner(world):
    # Rosario leads (Latin America); a second partner in Asia brings the case into Asia too.
    case = waiting(world)
    case.partner_region = ""  # no preferred region: partners may come from any
    db.session.commit()
    pairing.propose(case.id, world.coordinator, world.partner_city.id, expected_version=None)
    pairing.propose(case.id, world.coordinator, world.partner_city_asia.id, expected_version=None)
    case = fresh(case.id)
    assert case.partner_city_id == world.partner_city.id
    staff = user("na@citypair.eu", UserRole.COORDINATOR, region_scope="North America")
    db.session.commit()

    assert can_view_case(world.coordinator_asia, case)
    assert can_view_case(world.coordinator_latam, case)
    assert not can_view_case(staff, case)
    assert case in db.session.scalars(visible_cases(world.coordinator_asia)).all()
    assert case not in db.session.scalars(visible_cases(staff)).all()
    # The case list finds it under either region, and by the second partner's name.
    now = utcnow()
    for filters in (CaseFilters(region="Asia"), CaseFilters(region=LATAM),
                    CaseFilters(search=world.partner_city_asia.name.lower())):
        assert [c.id for c, _ in caselist.list_page(world.admin, filters, now).rows] == [case.id]
    assert caselist.list_page(world.admin, CaseFilters(region="North America"), now).rows == []
    # Mail for the coordinators of the case's regions reaches the Asian coordinator too.
    assert world.coordinator_asia in outbox.coordinators_for(db.session, case)
    assert staff not in outbox.coordinators_for(db.session, case)


def cooperating_with_two(world) -> Case:
    """Lyon's case accepted and signed by the applicant, Rosario and Medellín."""
    case, _medellin, mateo = proposed_to_two(world)
    for person in (world.applicant_a, world.partner, mateo):
        cases.fire(case.id, "accept_pairing", person)
    for person in (world.applicant_a, world.partner, mateo):
        sign_agreement(case.id, person)
    case = fresh(case.id)
    assert case.state == "cooperation_active" and case.cooperation_start is not None
    return case


def test_the_showcase_and_the_public_export_name_every_partner(world, browser, app):
    case = cooperating_with_two(world)
    [row] = showcase.current_rows()
    assert row.partner_names == "Rosario + Medellín"
    assert (row.partner_countries, row.regions) == (["AR", "CO"], [LATAM])
    # Found by either partner's country; counted once in their shared region.
    assert showcase.narrow([row], country="CO") == [row]
    assert showcase.by_region([row]) == [(LATAM, 1)]
    page = browser.get("/pairings?country=CO").get_data(as_text=True)
    assert "Rosario + Medellín" in page and "Argentina, Colombia" in page

    body = app.test_client().get("/api/v1/public/pairings").get_json()
    [current] = [i for i in body["items"] if i["source"] == "current"]
    assert current["partner_city"] == "Rosario"  # the lead, as before
    assert current["partners"] == [
        {"name": "Rosario", "country": "AR", "region": LATAM},
        {"name": "Medellín", "country": "CO", "region": LATAM}]
    assert case.organisation.name == current["eu_city"]


def test_a_pairing_across_two_regions_counts_in_each(world, app):
    case = waiting(world)
    case.partner_region = ""  # no preferred region: partners may come from any
    db.session.commit()
    for partner in (world.partner_city, world.partner_city_asia):
        pairing.propose(case.id, world.coordinator, partner.id, expected_version=None)
    case = fresh(case.id)
    case.cooperation_start = utcnow()  # only the showcase reads it here
    db.session.commit()
    [row] = showcase.current_rows()
    assert dict(showcase.by_region([row])) == {"Asia": 1, LATAM: 1}
    assert showcase.narrow([row], region="Asia") == [row]
    asia = app.test_client().get("/api/v1/public/pairings?region=Asia").get_json()["items"]
    assert [i["eu_city"] for i in asia if i["source"] == "current"] == ["Lyon"]


def test_pages_and_mail_name_every_partner(world, browser, make_browser, app):
    case = cooperating_with_two(world)
    # The applicant's case page describes each partner under its own heading.
    browser.login(world.applicant_a.email)
    page = browser.get(f"/my/cases/{case.id}").get_data(as_text=True)
    assert "Your partners" in page
    assert '<h3 class="heading-s">Rosario</h3>' in page
    assert '<h3 class="heading-s">Medellín</h3>' in page
    # The cooperation pages' header names both.
    page = browser.get(f"/cooperation/cases/{case.id}").get_data(as_text=True)
    assert "with Rosario and Medellín" in page

    browser = make_browser()
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Rosario, Argentina" in page and "Medellín, Colombia" in page
    # The list is compact: the lead and how many more, every name for screen readers.
    page = browser.get("/office/cases").get_data(as_text=True)
    assert "Rosario + 1 more" in page
    assert '<span class="visually-hidden">Rosario and Medellín</span>' in page
    assert "Rosario; Medellín" in browser.get("/office/cases/export.csv").get_data(as_text=True)
    first = db.session.scalars(select(Deliverable).where(Deliverable.case_id == case.id)
                               .order_by(Deliverable.due_at)).first()
    first.due_at = utcnow() + 10 * DAY  # due soon, so the list shows it
    db.session.commit()
    page = browser.get("/office/deliverables").get_data(as_text=True)
    assert first.title in page and "Rosario + 1 more" in page

    # Mail about the whole pairing names every partner and party.
    [signing] = [n for n in db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "agreement_to_sign",
        Notification.to_email == "anna@lyon.fr"))]
    text = rendering.render(signing)[1]
    assert "Lyon, Rosario, and Medellín have all accepted the pairing." in text
    assert "when every party has signed" in text
    [proposed] = [n for n in db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "pairing_proposed",
        Notification.to_email == "anna@lyon.fr"))][-1:]
    assert "with Rosario (Argentina) and Medellín (Colombia)" in rendering.render(proposed)[1]
    started = db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == "cooperation_started")).first()
    assert "signed by every party" in rendering.render(started)[1]

    # The plan's cover names both partners.
    with app.test_request_context():
        html = render_template("documents/lap.html", case=case, content={}, sections=[],
                               sectors=[], sdgs={}, plan_name="Local Action Plan",
                               version=SimpleNamespace(number=1, sha256="0" * 64,
                                                       purpose="draft", submitted_at=utcnow(),
                                                       submitted_by=world.applicant_a))
    assert "in cooperation with Rosario and Medellín" in html


def test_the_dashboard_counts_a_pairing_in_each_partner_region_and_the_case_once(world):
    case = waiting(world)
    case.partner_region = ""  # no preferred region: partners may come from any
    db.session.commit()

    def totals() -> tuple[int, int, int, dict[str, int]]:
        db.session.expire_all()
        every, asia, latam = (caselist.dashboard_figures(u) for u in (
            world.admin, world.coordinator_asia, world.coordinator_latam))
        return (sum(n for _, n in every.per_call), sum(n for _, n in asia.per_call),
                sum(n for _, n in latam.per_call), dict(every.pairings_per_region))

    cases_before, asia_before, latam_before, regions_before = totals()
    for partner in (world.partner_city, world.partner_city_asia):
        pairing.propose(case.id, world.coordinator, partner.id, expected_version=None)
    count, asia, latam, regions = totals()
    # Once in the whole programme, once for each region's coordinator, a pairing in each region.
    assert count == cases_before
    assert (asia, latam) == (asia_before + 1, latam_before + 1)
    assert regions == {**regions_before, "Asia": regions_before.get("Asia", 0) + 1,
                       LATAM: regions_before.get(LATAM, 0) + 1}
    assert tallies.check(db.session) == []
    db.session.rollback()

    # Without its Asian partner the case leaves Asia's figures; the kept counts follow.
    pairing.remove_partner(case.id, world.coordinator, world.partner_city_asia.id,
                           expected_version=None)
    count, asia, latam, regions = totals()
    assert (count, asia, latam) == (cases_before, asia_before, latam_before + 1)
    assert regions.get("Asia", 0) == regions_before.get("Asia", 0)
    assert tallies.check(db.session) == []


def test_an_escalation_reaches_the_coordinators_of_every_partner_region(world):
    case = waiting(world)
    case.partner_region = ""  # no preferred region: partners may come from any
    db.session.commit()
    for partner in (world.partner_city, world.partner_city_asia):
        pairing.propose(case.id, world.coordinator, partner.id, expected_version=None)
    case = fresh(case.id)
    case.coordinator_id = None  # no one responsible: the region's coordinators are told
    staff = user("na@citypair.eu", UserRole.COORDINATOR, region_scope="North America")
    now = utcnow()
    deadline = Deadline(case_id=case.id, kind="pairing_response", label="Answer the proposal",
                        due_at=now + 3 * DAY, state=case.state)
    deadline.reminders.append(Reminder(case_id=case.id, offset_minutes=0,
                                       scheduled_at=now - timedelta(minutes=1),
                                       recipients=["coordinator"],
                                       template="reminder_pairing_proposed"))
    db.session.add(deadline)
    db.session.commit()
    sweeper.sweep(now=now)
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.case_id == case.id, Notification.deadline_id == deadline.id)))
    assert {world.coordinator_asia.id, world.coordinator_latam.id} <= told
    assert staff.id not in told
    assert told == {u.id for u in outbox.coordinators_for(db.session, fresh(case.id))}
