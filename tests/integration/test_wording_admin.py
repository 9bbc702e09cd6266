"""E-mail wording in the browser: an admin rewrites a notification per language in a sandbox
that knows only the template's variables, keeps its required parts, previews it on a real
case, saves it (audited) so that delivered mail uses it in the recipient's language, and goes
back to the shipped wording."""

from __future__ import annotations

import html
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import event, select

from tests.factories import complete_application, user
from webapp import wording
from webapp.db import db
from webapp.mail import delivery
from webapp.models import AuditEvent, Case, MailWording, Notification
from webapp.operations import applications, cases
from webapp.operations import wording as wording_ops

pytestmark = pytest.mark.integration

FRENCH = ("Bonjour {{ recipient_name }},\n\n"
          "Le dossier {{ reference }} de {{ organisation }} a changé : {{ status }}.\n"
          "{% if reason %}Motif : {{ reason }}{% endif %}\n\n"
          "Ouvrez-le ici : {{ link }}\n\n"
          "Ne plus recevoir ces e-mails : {{ unsubscribe_link }}")


def visible(resp) -> str:
    """The words a page shows, without its markup."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(
        as_text=True))))


def reopened_case(world) -> Case:
    """Lyon's case, declared ineligible and reopened by the admin: a state_changed e-mail
    went to Lyon's applicants."""
    case = complete_application(db.session.get(Case, applications.start_application(
        world.applicant_a, world.call.id).id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_ineligible", world.coordinator, {"reason": "Too small"})
    cases.fire(case.id, "reopen", world.admin, {"reason": "The census was wrong"})
    db.session.expire_all()
    return db.session.get(Case, case.id)


def admin_browser(make_browser, world):
    browser = make_browser()
    browser.login(world.admin.email)
    return browser


def delivered(app, n: Notification):
    assert delivery.deliver(n.id).status == "sent"
    [eml] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml")
    return message_from_bytes(eml.read_bytes(), policy=policy.default)


def test_the_page_starts_from_the_shipped_wording_written_with_variables(world, make_browser):
    case = reopened_case(world)
    admin = admin_browser(make_browser, world)
    listing = visible(admin.get("/office/admin/emails"))
    assert "state_changed" in listing and "reminder_deliverable" in listing
    resp = admin.get("/office/admin/emails/state_changed/fr")
    assert resp.status_code == 200
    body = html.unescape(re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>',
                                   resp.get_data(as_text=True), re.S).group(1))
    subject = html.unescape(re.search(r'name="subject"[^>]*value="([^"]*)"',
                                      resp.get_data(as_text=True)).group(1))
    assert subject.startswith("[{{ reference }}]")
    assert "{{ recipient_name }}" in body and "{{ reference }}" in body
    assert "{{ link }}" in body and "{{ unsubscribe_link }}" in body and "Bonjour" in body
    assert case.reference not in body
    # As it stands it can be saved: every required part is there.
    assert wording.problems("state_changed", subject, body) == {}
    page = visible(resp)
    assert f"On case {case.reference}" in page
    assert "With the context of the real e-mail" in page
    assert "{{ unsubscribe_link }} the link that switches this kind of e-mail off Required" in page


def test_an_unknown_variable_is_refused_with_the_list_of_those_available(world, make_browser):
    reopened_case(world)
    admin = admin_browser(make_browser, world)
    typed = FRENCH + "\n{{ colour }} {{ case.organisation.users }}"
    resp = admin.post("/office/admin/emails/state_changed/fr", {
        "subject": "Nouveau statut", "body": typed, "action": "save"})
    assert resp.status_code == 400
    page = visible(resp)
    assert "Unknown variables: case, colour. This e-mail can use: agreement_name, call_title, " \
           "link, organisation, partner_city, partner_country, plan_name, programme, reason, " \
           "recipient_name, reference, status, unsubscribe_link." in page
    assert html.escape(typed, quote=False) in resp.get_data(as_text=True)  # nothing lost
    assert db.session.scalar(select(MailWording)) is None


@pytest.mark.parametrize("template, body, missing", [
    ("reminder_deliverable", "Hello {{ recipient_name }}, see {{ link }}", "deadline"),
    ("state_changed", "Hello, see {{ link }}", "unsubscribe_link"),
    ("application_submitted", "Hello {{ recipient_name }}, thank you.", "link"),
    # Shown only when there is a reason, the link would be missing from most mail.
    ("declared_ineligible", "Sorry.{% if reason %} {{ reason }} {{ link }}{% endif %}", "link"),
])
def test_a_required_part_cannot_be_left_out(world, template, body, missing):
    problems = wording.problems(template, "A subject", body)
    assert problems == {"body": [f"Keep {{{{ {missing} }}}} in the text: "
                                 f"{wording.spec_for(template).variables()[missing].description}."]}
    with pytest.raises(wording_ops.WordingRefused):
        wording_ops.save(world.admin, template, "en", "A subject", body)


@pytest.mark.parametrize("body, says", [
    ("{{ link", "Line 1:"),
    ("{{ link.__class__.__mro__ }}", "It cannot be shown"),
    ("{{ link|nosuchfilter }}", "No filter named 'nosuchfilter'"),
    ("", "Write the text."),
])
def test_the_sandbox_refuses_what_it_cannot_render(world, body, says):
    problems = wording.problems("pairing_proposed", "Subject", body)
    assert says in problems["body"][0]


def test_a_preview_renders_what_was_typed_on_a_real_case_without_saving(world, make_browser):
    case = reopened_case(world)
    admin = admin_browser(make_browser, world)
    resp = admin.post("/office/admin/emails/state_changed/fr", {
        "subject": "[{{ reference }}] Nouveau statut", "body": FRENCH, "case": case.reference,
        "action": "preview"})
    assert resp.status_code == 200
    page = visible(resp)
    assert "Preview of what you typed" in page
    assert f"[{case.reference}] Nouveau statut" in page
    assert f"Le dossier {case.reference} de Lyon a changé : " in page
    assert "Motif : The census was wrong" in page  # the real e-mail's own context
    assert f"http://localhost/my/cases/{case.id}" in page and "/unsubscribe/" in page
    assert db.session.scalar(select(MailWording)) is None
    resp = admin.post("/office/admin/emails/state_changed/fr", {
        "subject": "S", "body": FRENCH, "case": "NO-SUCH-CASE", "action": "preview"})
    assert resp.status_code == 400 and "There is no case with this reference." in visible(resp)


def test_a_saved_wording_is_what_readers_of_that_language_receive(app, world, make_browser):
    world.applicant_a.locale = "fr"
    colleague = user("marc@lyon.fr", organisation=world.org_a, locale="en")
    db.session.commit()
    admin = admin_browser(make_browser, world)
    resp = admin.post("/office/admin/emails/state_changed/fr", {
        "subject": "[{{ reference }}] Nouveau statut", "body": FRENCH, "action": "save"})
    assert resp.status_code == 303
    assert "Yours, saved" in visible(admin.get(resp.headers["Location"]))
    case = reopened_case(world)
    mails = {n.user_id: n for n in db.session.scalars(select(Notification).where(
        Notification.template == "state_changed"))}
    french = delivered(app, mails[world.applicant_a.id])
    assert french["Subject"] == f"[{case.reference}] Nouveau statut"
    text = french.get_body(("plain",)).get_content()
    assert text.startswith(f"Bonjour {world.applicant_a.name},")
    assert "Motif : The census was wrong" in text and "/unsubscribe/" in text
    part = french.get_body(("html",)).get_content()
    assert '<html lang="fr">' in part
    assert (f'<a href="http://localhost/my/cases/{case.id}">'
            f'http://localhost/my/cases/{case.id}</a>') in part
    assert french["List-Unsubscribe"]  # the headers are the usual ones
    english = delivered(app, mails[colleague.id])
    assert english["Subject"] == f"[{case.reference}] The status of your application has changed"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "save_wording"))
    assert event.case_id is None and event.payload["before"] is None
    assert event.payload["after"]["body"] == FRENCH and event.payload["locale"] == "fr"


def test_a_delivery_batch_reads_the_wordings_once(app, world):
    wording_ops.save(world.admin, "state_changed", "en", "Status: {{ reference }}",
                     "{{ link }}\n{{ unsubscribe_link }}")
    for n in range(3):
        user(f"team{n}@lyon.fr", organisation=world.org_a)
    db.session.commit()
    reopened_case(world)
    ids = list(db.session.scalars(select(Notification.id).where(
        Notification.template == "state_changed")))
    assert len(ids) == 4
    reads: list[str] = []

    def count(conn, cursor, statement, *args):
        if "mail_wording" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        outcomes = delivery.deliver_many(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert {o.status for o in outcomes.values()} == {"sent"}
    assert len(reads) == 1


def test_back_to_the_shipped_wording(app, world, make_browser):
    admin = admin_browser(make_browser, world)
    admin.post("/office/admin/emails/state_changed/fr", {
        "subject": "Nouveau statut", "body": FRENCH, "action": "save"})
    resp = admin.post("/office/admin/emails/state_changed/fr/default")
    assert resp.status_code == 303
    page = visible(admin.get(resp.headers["Location"]))
    assert "Back to the shipped wording." in page and "The shipped wording" in page
    assert db.session.scalar(select(MailWording)) is None
    [reset] = wording_ops.history("state_changed", "fr")[:1]
    assert reset.action == "reset_wording" and reset.payload["before"]["subject"] == \
        "Nouveau statut"
    world.applicant_a.locale = "fr"
    db.session.commit()
    case = reopened_case(world)
    n = db.session.scalar(select(Notification).where(Notification.template == "state_changed"))
    mail = delivered(app, n)
    assert mail["Subject"] == f"[{case.reference}] Le statut de votre candidature a changé"


def test_the_html_preview_and_mail_without_a_case(world, make_browser):
    case = reopened_case(world)
    admin = admin_browser(make_browser, world)
    wording_ops.save(world.admin, "state_changed", "en", "Status", "Hi.\n\nGo: {{ link }}\n\n"
                     "{{ unsubscribe_link }}")
    resp = admin.get(f"/office/admin/emails/state_changed/en/email.html?case={case.reference}")
    assert resp.status_code == 200 and resp.headers["Content-Security-Policy"] == "sandbox"
    assert "<p>Hi.</p>" in resp.get_data(as_text=True)
    # An invitation is previewed with a made-up key: no working link is ever shown.
    resp = admin.get("/office/admin/emails/invitation/es")
    assert resp.status_code == 200
    assert "/account/reset/preview" in resp.get_data(as_text=True)
    assert admin.get("/office/admin/emails/nosuch/en").status_code == 404
    assert admin.get("/office/admin/emails/invitation/de").status_code == 404
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/admin/emails").status_code == 403
    with pytest.raises(Exception, match="Only an administrator"):
        wording_ops.save(world.coordinator, "invitation", "en", "S", "{{ link }}")


def test_every_shipped_template_has_its_rules_and_its_starter_passes_them(world):
    case = reopened_case(world)
    names = wording.template_names()
    assert set(names) == set(wording.SPECS), "add a Spec for each template in webapp/wording.py"
    for name in names:
        for locale in wording.LANGUAGES:
            draft = wording.starter(db.session, name, locale, case, world.admin)
            assert wording.problems(name, draft.subject, draft.body) == {}, (name, locale)


def test_optional_mail_of_the_definitions_must_keep_its_unsubscribe_link():
    from workflows import workflows

    optional = {n.template for wf in workflows().values() for t in wf.transitions
                for n in t.notify if n.optional}
    assert optional and all(wording.spec_for(t).optional for t in optional)
