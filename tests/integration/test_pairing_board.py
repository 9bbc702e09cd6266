"""Suggestions for a case, the call-wide draft board, the partner's invitation and acceptance,
and the evaluation command."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.factories import complete_application
from webapp.db import db
from webapp.errors import Forbidden, OperationError
from webapp.models import AuditEvent, Case, Notification, PartnerCity, Topic, User
from webapp.operations import accounts, applications, backoffice, cases, pairing

pytestmark = pytest.mark.integration

LATAM = "Latin America and the Caribbean"


def topics(*slugs: str) -> list[Topic]:
    return list(db.session.scalars(select(Topic).where(Topic.slug.in_(slugs))))


def partner(name: str, *slugs: str, text: str = "", region: str = LATAM,
            country: str = "CO", contacts=()) -> PartnerCity:
    pc = PartnerCity(name=name, country=country, region=region, challenge_statement=text,
                     topics=topics(*slugs), contacts=list(contacts))
    db.session.add(pc)
    db.session.commit()
    return pc


def waiting_case(world, user, *slugs: str, text: str = "", region: str = LATAM) -> Case:
    """A case of ``user``'s organisation that is eligible and waiting for a partner."""
    case = db.session.get(Case, applications.start_application(user, world.call.id).id)
    complete_application(case, region=region)
    cases.fire(case.id, "submit", user)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    if slugs:
        case.topics = topics(*slugs)
        case.challenge_statement = text
        db.session.commit()
    return case


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def proposals() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "propose_pairing"))


# -- suggestions -------------------------------------------------------------------------------

def test_suggestions_rank_a_rare_shared_topic_first_and_say_why(world, browser):
    # The statements name no topic of their own, so only the chosen topics tell them apart.
    for name in ("Bogota", "Cali", "Lima"):
        partner(name, "smart-city", text="basin delta")
    quito = partner("Quito", "water", text="basin delta", country="EC")
    case = waiting_case(world, world.applicant_a, "smart-city", "water",
                        text="Managing the basin delta")
    browser.login(world.coordinator.email)
    resp = browser.get(f"/office/pairing/cases/{case.id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    names = re.findall(r'<h3 class="heading-s">([^<]+) <span', page)
    # Water is chosen by one partner city only, smart city by five profiles: water weighs more.
    assert names[0] == "Quito"
    assert set(names[1:]) >= {"Bogota", "Cali", "Lima", "Rosario"}
    assert "Yokohama" not in page  # Asia is not the region this applicant asked for
    first = page[page.index("Quito"):page.index("Propose this partner")]
    assert "Water management and sanitation" in first
    assert "Words both statements use" in first and "basin" in first and "delta" in first
    assert re.search(r'class="bar-chart__bar bar-w-\d+', first)
    found = pairing.suggestions_for(case.id, world.coordinator)
    assert found.suggestions[0].partner.id == quito.id
    assert found.suggestions[0].score > found.suggestions[1].score
    assert [slug for slug, _ in found.suggestions[0].shared_topics] == ["water"]


def test_a_portuguese_statement_is_suggested_for_an_english_one_with_its_sentences(world,
                                                                                     browser):
    recife = partner("Recife", "housing", country="BR", text=(
        "O centro histórico sofre com o excesso de turistas e navios de cruzeiro. "
        "O aluguel de temporada expulsa os moradores dos bairros antigos."))
    partner("Belém", "housing", country="BR", text=(
        "Precisamos ampliar a coleta seletiva de resíduos e fechar o lixão."))
    case = waiting_case(world, world.applicant_a, "housing", text=(
        "Cruise passengers crowd our historic centre every summer. "
        "Short-term holiday rentals push residents out of the old town."))
    found = pairing.suggestions_for(case.id, world.coordinator)
    assert found.suggestions[0].partner.id == recife.id
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    first = page[page.index("Recife"):page.index("Propose this partner")]
    # The sentences that match are quoted as written, the Portuguese one marked as such.
    assert "Sentences that match" in first
    assert re.search(r'<q lang="pt">O (aluguel|centro)[^<]+</q>', first)
    assert re.search(r"<q>(Short-term|Cruise)[^<]+</q>", first)


def test_busy_partner_cities_are_not_suggested_and_proposing_fires_the_transition(world,
                                                                                  browser):
    quito = partner("Quito", "smart-city", "urban-mobility")
    first = waiting_case(world, world.applicant_a)
    second = waiting_case(world, world.applicant_b)
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{first.id}").get_data(as_text=True)
    assert "Quito" in page and "Rosario" in page
    resp = browser.post(f"/office/pairing/cases/{first.id}/propose",
                        {"partner_city_id": quito.id, "version": first.version})
    assert resp.status_code == 303
    case = fresh(first.id)
    assert case.state == "pairing_proposed" and case.partner_city_id == quito.id
    page = browser.get(f"/office/pairing/cases/{first.id}").get_data(as_text=True)
    assert "Proposed partner: Quito" in page
    # Further partners may join the proposed pairing; Quito is not offered twice.
    assert "Add this partner too" in page and "Propose this partner" not in page
    assert "Add this partner too<span class=\"visually-hidden\">: Quito" not in page
    # Quito is now in an active pairing of this call: the other case is not offered it.
    page = browser.get(f"/office/pairing/cases/{second.id}").get_data(as_text=True)
    assert "Quito" not in page and "Rosario" in page
    # A stale page is refused and says so; nothing changes.
    resp = browser.post(f"/office/pairing/cases/{second.id}/propose",
                        {"partner_city_id": world.partner_city.id, "version": 1})
    assert resp.status_code == 303
    page = browser.get(f"/office/pairing/cases/{second.id}").get_data(as_text=True)
    assert "Someone else changed this case" in page
    assert fresh(second.id).state == "awaiting_pairing"


def test_a_withdrawn_case_releases_its_partner_city_to_the_rest_of_the_call(world, browser):
    quito = partner("Quito", "smart-city", "urban-mobility")
    first = waiting_case(world, world.applicant_a)
    second = waiting_case(world, world.applicant_b)
    cases.fire(first.id, "propose_pairing", world.coordinator, {"partner_city_id": quito.id})
    with pytest.raises(OperationError):
        cases.fire(second.id, "propose_pairing", world.coordinator,
                   {"partner_city_id": quito.id})
    cases.fire(first.id, "withdraw", world.applicant_a, {"reason": "Council elections"})
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{second.id}").get_data(as_text=True)
    assert "Quito" in page
    cases.fire(second.id, "propose_pairing", world.coordinator, {"partner_city_id": quito.id})
    assert fresh(second.id).partner_city_id == quito.id


def test_region_scoped_coordinator_gets_403_on_another_regions_case(world, browser,
                                                                    make_browser):
    case = waiting_case(world, world.applicant_a)
    browser.login(world.coordinator_asia.email)
    assert browser.get(f"/office/pairing/cases/{case.id}").status_code == 403
    resp = browser.post(f"/office/pairing/cases/{case.id}/propose",
                        {"partner_city_id": world.partner_city.id, "version": case.version})
    assert resp.status_code == 403
    assert fresh(case.id).state == "awaiting_pairing"
    with pytest.raises(Forbidden):
        pairing.suggestions_for(case.id, world.coordinator_asia)
    other = make_browser()
    other.login(world.coordinator_latam.email)
    assert other.get(f"/office/pairing/cases/{case.id}").status_code == 200


def test_applicants_cannot_reach_the_pairing_pages(world, browser):
    case = waiting_case(world, world.applicant_a)
    browser.login(world.applicant_a.email)
    assert browser.get(f"/office/pairing/cases/{case.id}").status_code == 403
    assert browser.get(f"/office/pairing/calls/{world.call.id}/board").status_code == 403


# -- the draft board ---------------------------------------------------------------------------

def board_post(page: str, **choices) -> dict:
    """The board form as the page rendered it (selected options kept), changed by ``choices``."""
    def hidden(name: str) -> str:
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)

    data = {"case_ids": hidden("case_ids"), "ruled_out_pairs": hidden("ruled_out_pairs"),
            "action": "propose"}
    for name, value in re.findall(r'name="(version_\d+)"[^>]*value="(\d+)"', page):
        data[name] = value
    for name, options in re.findall(r'<select[^>]*name="(partner_\d+)"[^>]*>(.*?)</select>',
                                    page, re.S):
        picked = re.search(r'<option selected value="(\d*)"|<option value="(\d*)" selected',
                           options)
        data[name] = (picked.group(1) or picked.group(2) or "") if picked else ""
    data.update(choices)
    return data


def test_pairing_index_counts_the_cases_waiting_in_each_call(world, browser, make_browser):
    waiting_case(world, world.applicant_a)
    waiting_case(world, world.applicant_b, region="Asia")
    browser.login(world.coordinator.email)
    page = browser.get("/office/pairing/").get_data(as_text=True)
    row = re.search(r"City-to-city call</td>.*?numeric\">(\d+)<", page, re.S)
    assert row.group(1) == "2"
    assert f'href="/office/pairing/calls/{world.call.id}/board"' in page
    latam = make_browser()
    latam.login(world.coordinator_latam.email)
    page = latam.get("/office/pairing/").get_data(as_text=True)
    assert re.search(r"City-to-city call</td>.*?numeric\">(\d+)<", page, re.S).group(1) == "1"


def test_board_proposes_the_optimum_and_creates_all_proposals_at_once(world, browser,
                                                                     dispatched):
    water = partner("Quito", "water", country="EC")
    mobility = partner("Curitiba", "urban-mobility", "smart-city", country="BR")
    a = waiting_case(world, world.applicant_a, "water", "smart-city")
    b = waiting_case(world, world.applicant_b, "urban-mobility", "smart-city")
    browser.login(world.coordinator.email)
    resp = browser.get(f"/office/pairing/calls/{world.call.id}/board")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    data = board_post(page)
    assert data[f"partner_{a.id}"] == str(water.id)
    assert data[f"partner_{b.id}"] == str(mobility.id)
    assert "Water management and sanitation" in page
    sent_before = len(dispatched)
    resp = browser.post(f"/office/pairing/calls/{world.call.id}/board", data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    assert (fresh(a.id).state, fresh(a.id).partner_city_id) == ("pairing_proposed", water.id)
    assert (fresh(b.id).state, fresh(b.id).partner_city_id) == ("pairing_proposed", mobility.id)
    assert proposals() == 2
    mails = db.session.scalars(select(Notification).where(
        Notification.template == "pairing_proposed")).all()
    assert {m.case_id for m in mails} == {a.id, b.id}
    assert len(dispatched) > sent_before
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    assert "2 pairings proposed." in page
    assert "No case of this call that you may pair is waiting for a partner." in page


def test_a_partner_chosen_twice_creates_no_proposal_and_keeps_the_choices(world, browser):
    water = partner("Quito", "water", country="EC")
    a = waiting_case(world, world.applicant_a, "water")
    b = waiting_case(world, world.applicant_b, "urban-mobility")
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    data = board_post(page, **{f"partner_{b.id}": str(water.id)})
    assert data[f"partner_{a.id}"] == str(water.id)
    resp = browser.post(f"/office/pairing/calls/{world.call.id}/board", data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "No proposal was made: 2 rows need another look." in page
    assert f"Quito is also chosen for {b.reference}; a partner city takes one case." in page
    assert f"Quito is also chosen for {a.reference}; a partner city takes one case." in page
    # The coordinator's choices are kept on the board they get back.
    kept = board_post(page)
    assert kept[f"partner_{a.id}"] == kept[f"partner_{b.id}"] == str(water.id)
    assert proposals() == 0
    assert fresh(a.id).state == fresh(b.id).state == "awaiting_pairing"


def test_a_case_changed_meanwhile_aborts_the_whole_board(world, browser):
    a = waiting_case(world, world.applicant_a, "water")
    b = waiting_case(world, world.applicant_b, "smart-city")
    partner("Quito", "water", country="EC")
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    data = board_post(page)
    assert data[f"partner_{a.id}"] and data[f"partner_{b.id}"]
    backoffice.add_comment(b.id, world.coordinator, "Called the city", internal=True)
    resp = browser.post(f"/office/pairing/calls/{world.call.id}/board", data)
    assert resp.status_code == 400
    assert f"{b.reference} changed since the board was drawn" in resp.get_data(as_text=True)
    assert proposals() == 0
    assert fresh(a.id).partner_city_id is None and fresh(b.id).partner_city_id is None


def test_board_operation_refuses_a_pair_outside_the_cases_region(world):
    a = waiting_case(world, world.applicant_a, "water")
    asia = waiting_case(world, world.applicant_b, "water", region="Asia")
    quito = partner("Quito", "water", country="EC")
    with pytest.raises(pairing.BoardRefused) as exc:
        pairing.propose_board(world.call.id, world.coordinator, [
            pairing.BoardChoice(a.id, quito.id, a.version),
            pairing.BoardChoice(asia.id, world.partner_city.id, asia.version)])
    assert exc.value.errors == {asia.id: [
        f"Rosario is in {LATAM}; {asia.reference} may be paired in Asia."]}
    # All or nothing: the good row was not proposed either.
    assert proposals() == 0
    assert fresh(a.id).state == "awaiting_pairing"
    count = pairing.propose_board(world.call.id, world.coordinator,
                                  [pairing.BoardChoice(a.id, quito.id, fresh(a.id).version)])
    assert count == 1 and fresh(a.id).partner_city_id == quito.id


def test_the_board_never_offers_a_partner_outside_the_allowed_regions(world):
    a = waiting_case(world, world.applicant_a, "smart-city")
    asia = waiting_case(world, world.applicant_b, "smart-city", region="Asia")
    drawn = pairing.board_for(world.call.id, world.coordinator)
    rows = {r.case.id: r for r in drawn.rows}
    assert rows[a.id].optimum_id == world.partner_city.id
    assert rows[asia.id].optimum_id == world.partner_city_asia.id
    assert {c.partner.region for c in rows[a.id].candidates} == {LATAM}
    assert {c.partner.region for c in rows[asia.id].candidates} == {"Asia"}


def region_call_with_a_waiting_region(world) -> tuple[Case, PartnerCity]:
    """A region call whose Silesia case waits for a partner, and the partner region Paraná."""
    from datetime import timedelta

    from tests.factories import user
    from webapp.db import utcnow
    from webapp.models import Call, Organisation

    call = Call(programme=world.programme, slug="r2r", kind="region-to-region",
                title="Region-to-region call", partner_regions=[LATAM],
                allowed_org_types=["region"], population_threshold=0, cooperation_months=12,
                opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=20))
    silesia = Organisation(name="Silesia", kind="region", country="PL", population=4_400_000)
    db.session.add_all([call, silesia])
    db.session.flush()
    applicant = user("piotr@slaskie.pl", organisation=silesia)
    db.session.commit()
    case = db.session.get(Case, applications.start_application(applicant, call.id).id)
    complete_application(case)
    cases.fire(case.id, "submit", applicant)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    # Two evaluators on their own, then selection on their means.
    from webapp.operations import cooperation

    for person in (world.coordinator, world.coordinator_latam):
        cooperation.save_scores(case.id, person, {"smart_specialisation": (4, ""),
                                                  "joint_projects": (4, ""),
                                                  "business_opportunities": (3, "")})
    cases.fire(case.id, "select", world.coordinator)
    case = fresh(case.id)
    case.topics = topics("smart-city", "energy-transition")
    case.challenge_statement = "smart cities and clean energy"
    db.session.commit()
    parana = PartnerCity(name="Paraná", country="BR", region=LATAM, kind="region",
                         challenge_statement="clean energy and innovation",
                         topics=topics("energy-transition", "innovation"))
    db.session.add(parana)
    db.session.commit()
    return fresh(case.id), parana


def test_each_call_suggests_and_boards_only_its_kind_of_partner(world, browser):
    region_case, parana = region_call_with_a_waiting_region(world)
    city_case = waiting_case(world, world.applicant_a, "smart-city", "energy-transition",
                             text="smart cities and clean energy")
    # The region call: Paraná only, although Rosario shares more of Silesia's topics.
    found = pairing.suggestions_for(region_case.id, world.coordinator)
    assert [s.partner.name for s in found.suggestions] == ["Paraná"]
    drawn = pairing.board_for(region_case.call_id, world.coordinator)
    [row] = drawn.rows
    assert {c.partner.name for c in row.candidates} == {"Paraná"}
    assert row.optimum_id == parana.id and drawn.free_count == 1
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{region_case.id}").get_data(as_text=True)
    assert "Paraná" in page and "Rosario —" not in page
    board = browser.get(f"/office/pairing/calls/{region_case.call_id}/board")
    assert board.status_code == 200 and "Rosario" not in board.get_data(as_text=True)
    # The city call: never a partner region.
    found = pairing.suggestions_for(city_case.id, world.coordinator)
    assert "Paraná" not in {s.partner.name for s in found.suggestions}
    assert "Rosario" in {s.partner.name for s in found.suggestions}
    drawn = pairing.board_for(world.call.id, world.coordinator)
    assert all(c.partner.kind == "city" for r in drawn.rows for c in r.candidates)
    # Proposing the wrong kind is refused by the workflow itself.
    with pytest.raises(OperationError) as exc:
        pairing.propose(region_case.id, world.coordinator, world.partner_city.id,
                        expected_version=region_case.version)
    assert "Rosario is not a partner region: this call pairs each application with a " \
        "partner region." \
        in exc.value.reasons
    with pytest.raises(OperationError) as exc:
        pairing.propose(city_case.id, world.coordinator, parana.id,
                        expected_version=city_case.version)
    assert "Paraná is not a partner city: this call pairs each application with a " \
        "partner city." \
        in exc.value.reasons


def test_region_scoped_coordinator_sees_and_acts_on_their_region_only(world, browser):
    latam = waiting_case(world, world.applicant_a, "smart-city")
    asia = waiting_case(world, world.applicant_b, "smart-city", region="Asia")
    browser.login(world.coordinator_latam.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    assert latam.reference in page and asia.reference not in page
    data = board_post(page)
    data["case_ids"] = f"{latam.id},{asia.id}"
    data[f"partner_{asia.id}"] = str(world.partner_city_asia.id)
    resp = browser.post(f"/office/pairing/calls/{world.call.id}/board", data)
    assert resp.status_code == 403
    assert proposals() == 0


def test_ruling_out_a_pair_recomputes_the_board_without_it(world, browser):
    quito = partner("Quito", "water", "smart-city", country="EC")
    a = waiting_case(world, world.applicant_a, "water", "smart-city")
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    data = board_post(page, action="recompute",
                      **{f"rule_out_{a.id}": "y"})
    assert data[f"partner_{a.id}"] == str(quito.id)
    resp = browser.post(f"/office/pairing/calls/{world.call.id}/board", data)
    assert resp.status_code == 303 and f"ruled_out={a.id}:{quito.id}" in resp.location
    page = browser.get(resp.location).get_data(as_text=True)
    again = board_post(page)
    assert again[f"partner_{a.id}"] == str(world.partner_city.id)
    assert again["ruled_out_pairs"] == f"{a.id}:{quito.id}"
    assert "1 pair is ruled out on this board." in page
    assert proposals() == 0


def test_a_declined_partner_is_not_proposed_again_by_the_board(world):
    a = waiting_case(world, world.applicant_a, "smart-city", "energy-transition")
    cases.fire(a.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(a.id, "decline_pairing", world.applicant_a, {"reason": "Too far"})
    row = pairing.board_for(world.call.id, world.coordinator).rows[0]
    assert row.case.id == a.id and row.optimum_id != world.partner_city.id
    assert any(c.partner.id == world.partner_city.id and c.ruled_out for c in row.candidates)


# -- the partner contact -------------------------------------------------------------------------

def test_partner_contact_is_invited_and_both_acceptances_start_the_agreement(world, browser,
                                                                           make_browser,
                                                                           monkeypatch):
    quito = partner("Quito", "smart-city", country="EC", contacts=[
        {"name": "Lucía Mena", "email": "lucia@quito.gob.ec", "role": "Mayor's office"},
        {"name": "No Mail", "email": "", "role": ""}])
    case = waiting_case(world, world.applicant_a)
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    assert "Invite partner contact" not in page  # nothing proposed yet
    browser.post(f"/office/pairing/cases/{case.id}/propose",
                 {"partner_city_id": quito.id, "version": case.version})
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    assert page.count("Invite partner contact") == 1 and "No e-mail address" in page
    resp = browser.post(f"/office/pairing/cases/{case.id}/invite",
                        {"email": "lucia@quito.gob.ec"})
    assert resp.status_code == 303
    person = db.session.scalar(select(User).where(User.email == "lucia@quito.gob.ec"))
    assert person.role == "partner" and person.partner_city_id == quito.id
    assert person.password_hash is None and person.confirmed_at is not None
    invitation = db.session.scalar(select(Notification).where(
        Notification.template == "invitation", Notification.user_id == person.id))
    assert invitation.case_id == case.id and invitation.context["organisation"] == "Quito"
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    assert "We have sent an invitation to lucia@quito.gob.ec." in page
    assert "Has an account" in page and "Invite partner contact" not in page
    # Inviting twice is refused with a reason.
    browser.post(f"/office/pairing/cases/{case.id}/invite", {"email": "lucia@quito.gob.ec"})
    assert "lucia@quito.gob.ec already has an account." in browser.get(
        f"/office/pairing/cases/{case.id}").get_data(as_text=True)

    # The invitee sets a password through the link three days later, signs in and accepts.
    partner_browser = make_browser()
    token = invitation.context["token"]
    signed_at = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: signed_at(self) + 3 * 24 * 3600)
    assert accounts.read_token("invite", token, max_age=2 * 3600) is None  # past a reset's life
    partner_browser.get(f"/account/reset/{token}")
    resp = partner_browser.post(f"/account/reset/{token}",
                                {"password": "a new partner password",
                                 "confirm": "a new partner password"})
    assert resp.status_code == 302
    partner_browser.login("lucia@quito.gob.ec", "a new partner password")
    assert case.reference in partner_browser.get("/my/").get_data(as_text=True)
    resp = partner_browser.post(f"/my/cases/{case.id}/act/accept_pairing",
                                {"version": fresh(case.id).version})
    assert resp.status_code == 302
    assert fresh(case.id).state == "pairing_proposed"  # the applicant has not accepted yet
    applicant_browser = make_browser()
    applicant_browser.login(world.applicant_a.email)
    resp = applicant_browser.post(f"/my/cases/{case.id}/act/accept_pairing",
                                  {"version": fresh(case.id).version})
    assert resp.status_code == 302
    assert fresh(case.id).state == "agreement_pending"


def test_partner_declines_with_a_reason_and_the_case_returns_to_the_pool(world, make_browser):
    case = waiting_case(world, world.applicant_a)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    rosa = make_browser()
    rosa.login(world.partner.email)
    resp = rosa.post(f"/my/cases/{case.id}/act/decline_pairing",
                     {"reason": "Our priorities changed", "version": fresh(case.id).version})
    assert resp.status_code == 302
    case = fresh(case.id)
    assert case.state == "awaiting_pairing" and case.partner_city_id is None
    decline = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "decline_pairing"))
    assert decline.payload["reason"] == "Our priorities changed"
    assert rosa.get(f"/my/cases/{case.id}").status_code == 404


def test_only_a_contact_of_the_proposed_partner_can_be_invited(world):
    case = waiting_case(world, world.applicant_a)
    with pytest.raises(OperationError, match="Propose a partner city first"):
        pairing.invite_partner_contact(case.id, world.coordinator, "x@y.org")
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    with pytest.raises(OperationError, match="is not a contact of Rosario"):
        pairing.invite_partner_contact(case.id, world.coordinator, "x@y.org")
    with pytest.raises(Forbidden):
        pairing.invite_partner_contact(case.id, world.coordinator_asia, "x@y.org")
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "x@y.org")) == 0


# -- the evaluation command ----------------------------------------------------------------------

def test_cli_evaluates_the_2017_pairings():
    from webapp.cli import main

    table = str(files("workflows").joinpath("data", "iuc_2017_pairings.csv"))
    result = CliRunner().invoke(main, ["pairing", "evaluate", table])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = re.fullmatch(r"top1=(\d\.\d\d) top3=(\d\.\d\d)", last)
    assert match, last
    assert float(match.group(2)) >= 0.8 and float(match.group(1)) <= float(match.group(2))
    assert "55 pairings" in result.output


def test_the_board_offers_every_free_partner_by_region_on_one_scale(world, browser):
    many = [partner(f"City {i}", "water" if i % 2 else "smart-city", text="river basin")
            for i in range(7)]
    unrelated = partner("Nothing in common", "tourism", text="festivals")
    a = waiting_case(world, world.applicant_a, "smart-city", text="Smart river basin data")
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/calls/{world.call.id}/board").get_data(as_text=True)
    select = re.search(rf'<select[^>]*name="partner_{a.id}".*?</select>', page, re.S).group(0)
    # Every free partner city of the case's region, even one with no score, grouped by region.
    offered = re.findall(r'<option[^>]*value="(\d+)"', select)
    free_latam = [pc.id for pc in (*many, unrelated, world.partner_city)]
    assert sorted(map(int, offered)) == sorted(free_latam)
    assert f'<optgroup label="{LATAM}">' in select and "Asia" not in select
    # The rows and the total speak of the same scale: out of 100.
    drawn = pairing.board_for(world.call.id, world.coordinator)
    [row] = drawn.rows
    percent = next(r.percent for pid, r in row.reasons.items() if pid == row.optimum_id)
    assert 1 <= percent <= 100
    total = re.search(r'<p class="key-figure__value">(\d+)</p>\s*<p class="key-figure__label">'
                      r'total score', page).group(1)
    assert int(total) == percent
    # The reasons keep their words whole in the narrow column: the list is stacked.
    assert 'summary-list summary-list--stacked' in page


def test_the_proposed_partners_box_counts_its_contact_accounts(world, browser):
    case = waiting_case(world, world.applicant_a, "smart-city", text="smart data")
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/pairing/cases/{case.id}").get_data(as_text=True)
    # Rosario lists no contacts, but its partner contact has an account (and got the mail).
    assert "has no contacts yet" not in page
    row = re.search(r"<tr>\s*<td class=\"table__cell\">[^<]*</td>\s*<td class=\"table__cell\">"
                    r"rosa@rosario.ar</td>.*?</tr>", page, re.S)
    assert row and "Has an account" in row.group(0)
    assert [c.email for c in pairing.contacts_of(world.partner_city)] == ["rosa@rosario.ar"]
