"""Staff and roles in the browser: an admin invites coordinators and admins with a scope,
changes roles and scopes, deactivates and reactivates; the last admin is kept; a deactivated
person is out at once (sign-in, sessions, API tokens); every change is audited and shown."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import select, text

from tests.factories import user
from webapp.access import programme_scope
from webapp.db import db
from webapp.errors import OperationError
from webapp.models import AuditEvent, Notification, Programme, User, UserRole
from webapp.operations import staff, tokens
from webapp.operations.accounts import BAD_LOGIN

pytestmark = pytest.mark.integration

PASSWORD = "a long staff password"


def fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def page_text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def signed_in_admin(make_browser, world):
    admin = make_browser()
    admin.login(world.admin.email)
    return admin


def test_an_invited_coordinator_accepts_and_lands_in_the_back_office_with_their_scope(
        world, make_browser):
    other = Programme(slug="iurc-na", name="IURC North America")
    db.session.add(other)
    db.session.commit()
    admin = signed_in_admin(make_browser, world)
    form = admin.get("/office/admin/people/invite")
    assert form.status_code == 200 and "IURC North America" in form.get_data(as_text=True)
    resp = admin.post("/office/admin/people/invite", {
        "name": "Nadia Team", "email": "Nadia@IURC.eu", "role": "coordinator", "locale": "fr",
        "programmes": [str(world.programme.id)], "region": "Latin America and the Caribbean"})
    assert resp.status_code == 303
    person = db.session.scalar(select(User).where(User.email == "nadia@iurc.eu"))
    assert resp.headers["Location"].endswith(f"/office/admin/people/{person.id}")
    page = page_text(admin.get(f"/office/admin/people/{person.id}"))
    assert "We have sent an invitation to nadia@iurc.eu." in page and "Invited" in page
    assert "International Urban Cooperation" in page and "Invite staff" in page

    # The invitation is the shared one, in the language chosen, with a 14-day link.
    invitation = db.session.scalar(select(Notification).where(
        Notification.template == "invitation", Notification.user_id == person.id))
    assert invitation.locale == "fr" and invitation.context["inviter"] == world.admin.name
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invite_staff"))
    assert event.case_id is None and event.actor_id == world.admin.id
    assert event.payload["after"] == {"role": "coordinator", "programmes": ["iuc"],
                                      "region": "Latin America and the Caribbean",
                                      "active": True}

    # The invitee opens the link, keeps or changes their name, sets a password: signed in.
    link = f"/account/reset/{invitation.context['token']}"
    nadia = make_browser()
    accept = nadia.get(link)
    assert accept.status_code == 200 and 'value="Nadia Team"' in accept.get_data(as_text=True)
    resp = nadia.post(link, {"name": "Nadia Okafor", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/office/cases")
    assert nadia.get("/office/cases").status_code == 200
    person = fresh(person.id)
    assert person.name == "Nadia Okafor" and person.password_hash
    assert person.last_sign_in_at is not None
    assert programme_scope(person) == {world.programme.id}
    assert person.region_scope == "Latin America and the Caribbean"
    # The link is spent; the list shows her active, with her scope and last sign-in.
    assert make_browser().get(link).status_code == 302
    listing = page_text(admin.get("/office/admin/people"))
    row = re.search(r"Nadia Okafor.*?</tr>", listing).group(0)
    assert "Coordinator" in row and "International Urban Cooperation" in row
    assert "Latin America and the Caribbean" in row and "Active" in row
    assert "Not known" not in row


def test_an_invitation_form_keeps_what_was_typed_and_says_what_is_wrong(world, make_browser):
    admin = signed_in_admin(make_browser, world)
    resp = admin.post("/office/admin/people/invite", {"name": "Someone", "email": "not-an-email",
                                                      "role": "", "locale": "en"})
    body = page_text(resp)
    assert resp.status_code == 400 and "There is a problem" in body
    assert 'value="Someone"' in body and 'value="not-an-email"' in body
    assert "Choose a role." in body and "Enter an e-mail address like name@example.eu." in body
    # An applicant's address cannot become a staff account here.
    resp = admin.post("/office/admin/people/invite", {
        "name": "Anna", "email": world.applicant_a.email, "role": "admin", "locale": "en"})
    assert resp.status_code == 400
    assert "<li>anna@lyon.fr has an account as an applicant or a partner contact" in \
        page_text(resp)
    resp = admin.post("/office/admin/people/invite", {
        "name": "Clara", "email": world.coordinator.email, "role": "admin", "locale": "en"})
    assert "has a staff account already" in page_text(resp)
    # A programme that does not exist is not a choice.
    resp = admin.post("/office/admin/people/invite", {
        "name": "X", "email": "x@iuc.eu", "role": "coordinator", "programmes": ["999"]})
    assert resp.status_code == 400 and "is not a valid choice" in page_text(resp)
    assert db.session.scalar(select(User).where(User.email == "x@iuc.eu")) is None


def test_the_last_admin_can_be_neither_demoted_nor_deactivated(world, make_browser):
    admin = signed_in_admin(make_browser, world)
    me = f"/office/admin/people/{world.admin.id}"
    admin.get(me)
    resp = admin.post(f"{me}/role", {"role": "coordinator"})
    assert resp.status_code == 400
    assert "<li>Admin is the last active administrator. Make another person" in page_text(resp)
    resp = admin.post(f"{me}/deactivate")
    assert resp.status_code == 400
    assert "<li>Admin is the last active administrator. Make another person" in page_text(resp)
    assert fresh(world.admin.id).role == "admin" and fresh(world.admin.id).active

    # With a second administrator, the first may step down; the second then may not.
    latam = f"/office/admin/people/{world.coordinator_latam.id}"
    resp = admin.post(f"{latam}/role", {"role": "admin"})
    assert resp.status_code == 303
    promoted = fresh(world.coordinator_latam.id)
    assert promoted.role == "admin" and promoted.region_scope == ""  # admins are not scoped
    assert admin.post(f"{me}/role", {"role": "coordinator"}).status_code == 303
    with pytest.raises(OperationError, match="last active administrator"):
        staff.deactivate(fresh(world.coordinator_latam.id), promoted.id)

    # Each change is on the person's page, before and after.
    second = make_browser()
    second.login(promoted.email)
    page = page_text(second.get(latam))
    assert "Change role" in page
    assert "Coordinator; every programme; Latin America and the Caribbean; active" in page
    assert "Administrator; every programme; every region; active" in page
    events = staff.history(world.coordinator_latam.id)
    assert [e.action for e in events] == ["change_role"]
    assert events[0].payload["before"]["role"] == "coordinator"


def test_a_coordinator_s_scope_is_changed_and_audited(world, make_browser):
    admin = signed_in_admin(make_browser, world)
    url = f"/office/admin/people/{world.coordinator.id}"
    resp = admin.post(f"{url}/scope", {"programmes": [str(world.programme.id)], "region": "Asia"})
    assert resp.status_code == 303
    person = fresh(world.coordinator.id)
    assert [p.slug for p in person.programmes] == ["iuc"] and person.region_scope == "Asia"
    resp = admin.post(f"{url}/scope", {"region": "Atlantis"})
    assert resp.status_code == 400 and "not a valid choice" in page_text(resp).lower()
    assert fresh(world.coordinator.id).region_scope == "Asia"
    [event] = staff.history(world.coordinator.id)
    assert event.action == "change_scope" and event.payload["before"]["region"] == ""
    # An administrator has no scope to set.
    resp = admin.post(f"/office/admin/people/{world.admin.id}/scope", {"region": "Asia"})
    assert resp.status_code == 400 and "only a coordinator has a scope" in page_text(resp)


def test_a_deactivated_person_is_out_at_once_and_can_come_back(app, world, make_browser):
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/cases").status_code == 200
    token = tokens.create_token(world.coordinator, "script")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token.secret}"}
    assert api.get("/api/v1/cases", headers=bearer).status_code == 200

    admin = signed_in_admin(make_browser, world)
    resp = admin.post(f"/office/admin/people/{world.coordinator.id}/deactivate")
    assert resp.status_code == 303
    assert "is deactivated" in page_text(admin.get(resp.headers["Location"]))
    # The open session ends, signing in fails with the usual neutral words, the token is dead.
    resp = coordinator.get("/office/cases")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    again = coordinator.post("/account/login", {"email": world.coordinator.email,
                                                "password": "correct horse battery"})
    assert again.status_code == 200 and str(BAD_LOGIN) in again.get_data(as_text=True)
    assert api.get("/api/v1/cases", headers=bearer).status_code == 401
    assert admin.post(f"/office/admin/people/{world.coordinator.id}/deactivate"
                      ).status_code == 400  # already done, said so

    resp = admin.post(f"/office/admin/people/{world.coordinator.id}/reactivate")
    assert resp.status_code == 303
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/cases").status_code == 200
    assert [e.action for e in staff.history(world.coordinator.id)] == [
        "reactivate_staff", "deactivate_staff"]


def test_reactivating_someone_who_never_accepted_sends_a_new_link(world, make_browser):
    admin = world.admin
    person = staff.invite(admin, staff.Invitation("late@iuc.eu", "Late Person", "admin"))
    first = db.session.scalar(select(Notification.context).where(
        Notification.user_id == person.id))["token"]
    staff.deactivate(admin, person.id)
    assert make_browser().get(f"/account/reset/{first}").status_code == 302  # dead link
    staff.reactivate(admin, person.id)
    links = db.session.scalars(select(Notification).where(
        Notification.user_id == person.id).order_by(Notification.id)).all()
    assert len(links) == 2
    resp = make_browser().get(f"/account/reset/{links[1].context['token']}")
    assert resp.status_code == 200 and "Accept your invitation" in resp.get_data(as_text=True)
    # Sending yet another link is the admin's choice, and audited.
    staff.resend_invitation(admin, person.id)
    assert [e.action for e in staff.history(person.id)][:1] == ["resend_invitation"]


def test_only_admins_manage_staff(world, make_browser):
    with pytest.raises(OperationError):
        staff.change_role(world.coordinator, world.coordinator_asia.id, "admin")
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/admin/people").status_code == 403
    # Applicants and partners are not staff: there is no staff page of them.
    admin = signed_in_admin(make_browser, world)
    assert admin.get(f"/office/admin/people/{world.applicant_a.id}").status_code == 404
    nav = admin.get("/office/cases").get_data(as_text=True)
    assert 'href="/office/admin/people"' in nav
    assert 'href="/office/admin/people"' not in coordinator.get("/office/cases").get_data(
        as_text=True)


@pytest.mark.postgres
def test_two_admins_cannot_demote_each_other_at_the_same_moment(app, world):
    """Admin A demotes themself in a transaction still open; B's demotion waits for it and is
    then refused, so one administrator is always left."""
    second = user("second@iuc.eu", UserRole.ADMIN)
    db.session.commit()
    first_id, second_id = world.admin.id, second.id
    outcome: list[str] = []

    def demote_second() -> None:
        with app.app_context():
            try:
                staff.change_role(db.session.get(User, second_id), second_id, "coordinator")
                outcome.append("demoted")
            except OperationError as exc:
                outcome.append(exc.message)
            finally:
                db.session.remove()

    with db.engine.connect() as conn:
        held = conn.begin()
        conn.execute(text('SELECT id FROM "user" WHERE role = \'admin\' ORDER BY id '
                          'FOR UPDATE'))
        conn.execute(text('UPDATE "user" SET role = \'coordinator\' WHERE id = :id'),
                     {"id": first_id})
        thread = threading.Thread(target=demote_second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second demotion must wait for the first"
        held.commit()
    thread.join(10)
    assert len(outcome) == 1 and "last active administrator" in outcome[0]
    assert fresh(second_id).role == "admin"
