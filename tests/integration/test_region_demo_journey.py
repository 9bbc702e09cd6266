"""The region-to-region call of the demo, end to end through the screens.

Silesia's application (``citypair demo``) is scored and selected, paired with a partner region
whose contact is invited, the Cooperation Agreement is signed, twelve months of cooperation
pass under a moved clock with the deliverables handed in and accepted, the sweep closes the
period and the joint regional innovation roadmap is submitted and approved. Every act of a
person is an HTTP request a browser would send from the page it was shown; the database is
read only to check the outcome and to find the invitation link a mail would carry.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from webapp.db import db
from webapp.models import (
    Agreement,
    AuditEvent,
    Case,
    Deliverable,
    Notification,
    PartnerCity,
    Signature,
    User,
)
from webapp.operations import delivery, reminders
from webapp.operations.setup import load_demo
from workflows.lap import SECTION_BY_KEY

pytestmark = pytest.mark.integration

DEMO_PASSWORD = "citypair-demo"
SILESIA = "silesia@citypair.demo"
COORDINATOR = "coordinator@citypair.demo"
PARTNER_EMAIL = "ana.souza@parana.pr.gov.br"
PARTNER_PASSWORD = "araucaria forests of parana"
#: the demo is loaded on a Monday morning in Brussels; the journey's dates follow from it
START = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)


# -- a browser's reading of a page ---------------------------------------------------------

class _Forms(HTMLParser):
    """The forms of a page: what a browser would send for each as rendered, and the options
    of its checkboxes, radios and menus."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: list | None = None
        self._select: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": [], "choices": {}}
            self.forms.append(self._form)
        if self._form is None:
            return
        fields = self._form["fields"]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                self._form["choices"].setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    fields.append([a["name"], a.get("value", "on")])
            elif kind not in ("submit", "button", "file"):
                fields.append([a["name"], a.get("value", "")])
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
            fields.append(self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None, None]  # name, first option, selected option
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._form["choices"].setdefault(self._select[0], []).append(value)
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in a:
                self._select[2] = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            # A browser drops the line break that follows the opening tag.
            self._textarea[1] = re.sub(r"^\r?\n", "", self._textarea[1])
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, first, chosen = self._select
            self._form["fields"].append([name, chosen if chosen is not None else first or ""])
            self._select = None
        elif tag == "form":
            self._form = None


class Form(dict):
    """What a form sends, by field name (a list for a name sent more than once); ``choices``
    holds the options its checkboxes, radios and menus offer."""

    choices: dict[str, list[str]]


def form_on(resp, action: str, **having: str) -> Form:
    """The form of the page ``resp`` that posts to ``action`` (and holds the ``having``
    values), as the page shows it."""
    parser = _Forms()
    parser.feed(resp.get_data(as_text=True))
    found = [f for f in parser.forms if f["action"] == action
             and all([k, v] in f["fields"] for k, v in having.items())]
    assert found, f"the page has no form posting to {action} with {having}"
    data = Form()
    data.choices = found[0]["choices"]
    for name, value in found[0]["fields"]:
        if name in data:
            before = data[name]
            data[name] = [*(before if isinstance(before, list) else [before]), value]
        else:
            data[name] = value
    return data


def text_of(resp) -> str:
    """A page's text as a person reads it: tags dropped, white space collapsed."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def state_of(case_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Case, case_id).state


# -- what people do on the cooperation pages -----------------------------------------------

def accept(coordinator, url: str) -> None:
    """The coordinator opens a handed-in deliverable and accepts it."""
    page = coordinator.get(url)
    assert "Status Submitted" in text_of(page), url
    form = form_on(page, f"{url}/review")
    form.update(decision="accept", comments="Thank you: clear and complete.")
    assert coordinator.post(f"{url}/review", form).status_code == 303
    assert "Status Accepted" in text_of(coordinator.get(url)), url


def write_report(browser, url: str) -> None:
    """A party writes the report for the period its form proposes and submits it."""
    page = browser.get(url)
    assert "How the Joint regional innovation roadmap has advanced." in text_of(page)
    form = form_on(page, url)
    assert form["period_start"] and form["period_end"]
    form.update(achievements="A study visit to Curitiba's innovation district and a joint "
                             "green-hydrogen webinar series.",
                next_steps="Scope a joint Horizon Europe proposal on hydrogen valleys.",
                lap_progress="The roadmap's joint projects are drafted with both clusters.",
                action="submit")
    resp = browser.post(url, form)
    assert resp.status_code == 303, text_of(resp)[:2000]


def write_roadmap(browser, plan_url: str) -> None:
    """The applicant fills in every section the roadmap page lists, through its section pages
    (three stakeholders from three sectors, one row in every other table)."""
    keys = re.findall(rf'href="{plan_url}/sections/(\w+)"',
                      browser.get(plan_url).get_data(as_text=True))
    assert len(keys) == 12, keys
    for key in keys:
        section = SECTION_BY_KEY[key]
        url = f"{plan_url}/sections/{key}"
        wanted = 3 if key == "stakeholders" else 1
        for n in range(wanted):
            # "Add another row" saves and comes back to the page with one empty row more.
            page = browser.get(url if n == 0 else f"{url}?add=1")
            form = form_on(page, url)
            for field in section.fields:
                form[field.key] = form.get(field.key) or \
                    f"{field.label}: Silesia and Paraná on green hydrogen and smart production."
            if "sdg_topics" in form.choices:
                form["sdg_topics"] = form.choices["sdg_topics"][6:9]
            for column in section.columns:
                name = f"rows-{n}-{column.key}"
                if column.type == "sector":
                    form[name] = form.choices[name][n + 1]  # after "Choose a sector"
                elif column.type == "date":
                    form[name] = f"2032-0{4 + n}-01"
                elif column.type == "amount":
                    form[name] = "250000"
                else:
                    form[name] = f"{column.label} {n + 1}: hydrogen valley"
            form["action"] = "add_row" if n + 1 < wanted else "save"
            resp = browser.post(url, form)
            assert resp.status_code == 303, (key, text_of(resp)[:2000])


def delivered(app, notification: Notification) -> email.message.Message:
    """The e-mail as the worker sends it (to the mail sink of the tests)."""
    assert delivery.deliver(notification.id).status == "sent"
    [sent] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{notification.id}@*.eml")
    return email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)


# -- the journey ---------------------------------------------------------------------------

def test_silesia_from_scoring_to_an_approved_roadmap_through_the_screens(app, make_browser):
    def signed_in(email_address: str, password: str = DEMO_PASSWORD):
        person = make_browser()
        person.login(email_address, password)
        return person

    with time_machine.travel(START, tick=True) as clock:
        with app.test_request_context():  # the demo formats dates as people read them
            list(load_demo())
        silesia = db.session.scalar(select(User).where(User.email == SILESIA))
        case = db.session.scalar(select(Case).where(
            Case.organisation_id == silesia.organisation_id))
        case_id, reference = case.id, case.reference
        assert case.workflow == "region-to-region" and case.state == "scoring"
        demo_mail = db.session.scalar(select(func.max(Notification.id)))
        office, portal = f"/office/cases/{case_id}", f"/my/cases/{case_id}"
        overview = f"/cooperation/cases/{case_id}"
        plan_url = f"{overview}/plan"

        def months_later(when: datetime) -> None:
            """Time passes; Celery beat's sweep has run meanwhile, as it does every minute,
            and has not closed the cooperation."""
            clock.move_to(when)
            assert reminders.sweep().transitions == 0
            assert state_of(case_id) == "cooperation_active"

        # -- the coordinator scores the three criteria, then selects on the case page
        coordinator = signed_in(COORDINATOR)
        page = coordinator.get(office)
        assert "Status: Scoring" in text_of(page)
        assert "Select for pairing ! Warning: Score every criterion first" in text_of(page)
        scoring = f"{overview}/scoring"
        page = coordinator.get(scoring)
        assert "Not scored yet" in text_of(page)
        form = form_on(page, scoring)
        form.update(smart_specialisation_score="4", joint_projects_score="4",
                    business_opportunities_score="3",
                    smart_specialisation_comment="A clear RIS3 on clean industry.")
        assert coordinator.post(scoring, form).status_code == 303
        page = text_of(coordinator.get(scoring))
        assert "The scores are saved." in page and "Total 9 11" in page
        assert "Every score meets its threshold" in page
        act = f"{office}/act/select"
        assert coordinator.post(act, form_on(coordinator.get(office), act)).status_code == 303
        page = coordinator.get(office)
        assert "Status: Selected — awaiting pairing" in text_of(page)
        assert state_of(case_id) == "awaiting_pairing"

        # -- proposes Paraná, first of the suggestions the case page's action leads to
        pairing = f"/office/pairing/cases/{case_id}"
        assert re.search(rf'<a href="{pairing}"[^>]*>\s*Propose a partner region\s*</a>',
                         page.get_data(as_text=True))
        page = coordinator.get(pairing)
        shown = text_of(page)
        assert shown.index("Paraná —") < shown.index("Magallanes —") < \
            shown.index("Tierra del Fuego —") < shown.index("Rosario —")
        parana = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Paraná"))
        propose = f"{pairing}/propose"
        resp = coordinator.post(propose, form_on(page, propose, partner_city_id=str(parana.id)))
        assert resp.status_code == 303
        page = coordinator.get(pairing)
        assert "Proposed partner: Paraná" in text_of(page)
        assert "This partner city has no contacts yet. Add a contact" in text_of(page)
        assert state_of(case_id) == "pairing_proposed"
        assert db.session.get(Case, case_id).partner_city_id == parana.id

        # -- the region's contact is added, invited, sets a password through the link
        edit = f"/office/pairing/partners/{parana.id}/edit"
        assert f'<a href="{edit}">Add a contact</a>' in page.get_data(as_text=True)
        form = form_on(coordinator.get(edit), edit)
        form.update({"contacts-0-name": "Ana Souza", "contacts-0-email": PARTNER_EMAIL,
                     "contacts-0-role": "State Secretariat for Innovation"})
        assert coordinator.post(edit, form).status_code == 302
        invite = f"{pairing}/invite"
        resp = coordinator.post(invite, form_on(coordinator.get(pairing), invite,
                                                email=PARTNER_EMAIL))
        assert resp.status_code == 303
        page = text_of(coordinator.get(pairing))
        assert f"We have sent an invitation to {PARTNER_EMAIL}." in page
        assert "Has an account" in page
        invitation = db.session.scalar(select(Notification).where(
            Notification.template == "invitation", Notification.to_email == PARTNER_EMAIL))
        link = f"/account/reset/{invitation.context['token']}"
        partner = make_browser()
        form = form_on(partner.get(link), link)
        form.update(password=PARTNER_PASSWORD, confirm=PARTNER_PASSWORD)
        assert partner.post(link, form).status_code == 302
        partner.login(PARTNER_EMAIL, PARTNER_PASSWORD)
        assert reference in text_of(partner.get("/my/"))

        # -- both parties accept the pairing
        accept_pairing = f"{portal}/act/accept_pairing"
        page = partner.get(portal)
        assert "Status: A partner region is proposed — please respond" in text_of(page)
        assert partner.post(accept_pairing, form_on(page, accept_pairing)).status_code == 302
        assert "Done. We are waiting for the other party." in text_of(partner.get(portal))
        assert state_of(case_id) == "pairing_proposed"
        applicant = signed_in(SILESIA)
        resp = applicant.post(accept_pairing, form_on(applicant.get(portal), accept_pairing))
        assert resp.status_code == 302
        assert state_of(case_id) == "agreement_pending"
        page = applicant.get(portal)
        assert "Status: Sign the cooperation agreement" in text_of(page)
        agreement = f"/agreements/{case_id}"
        assert f'<a href="{agreement}">Cooperation Agreement</a>' in page.get_data(as_text=True)

        # -- both sign with a typed signature bound to the hash the page shows
        sign = f"{agreement}/sign/typed"
        issued = db.session.scalar(select(Agreement.content_hash).where(
            Agreement.case_id == case_id, Agreement.voided_at.is_(None)))
        for who, name, title in ((applicant, "Piotr Nowak", "Head of regional development"),
                                 (partner, "Ana Souza", "Secretary for Innovation")):
            page = who.get(agreement)
            assert f'<code class="agreement-hash">{issued}</code>' in page.get_data(as_text=True)
            assert "Cooperation Agreement" in text_of(page)
            assert "Duration: 12 months from the start date." in text_of(page)
            form = form_on(page, sign)
            assert form["typed-agreement_hash"] == issued
            form.update({"typed-full_name": name, "typed-title": title, "typed-consent": "y"})
            assert who.post(sign, form).status_code == 302
        assert state_of(case_id) == "cooperation_active"
        assert db.session.scalars(select(Signature.agreement_hash).where(
            Signature.case_id == case_id)).all() == [issued, issued]

        # -- the cooperation: twelve months, ending on the anniversary of the signature
        page = text_of(applicant.get(overview))
        assert "Started March 3, 2031 Ends March 3, 2032" in page
        assert "Stage Facilitated cooperation under way" in page
        assert "Draft joint regional innovation roadmap December 3, 2031 Scheduled" in page
        assert "Joint regional innovation roadmap March 3, 2032 Scheduled" in page
        assert "Final report March 3, 2032 Scheduled" in page
        assert "Local Action Plan" not in page and "18 months" not in page
        assert "Status: Facilitated cooperation " in text_of(coordinator.get(office))
        due = {f"{d.kind}{d.sequence}": d.id for d in db.session.scalars(
            select(Deliverable).where(Deliverable.case_id == case_id))}
        assert sorted(due) == ["draft_lap1", "final_lap1", "final_report1", "progress_report1",
                               "progress_report2", "work_plan1"]

        # month 2: the partner hands in the work plan
        months_later(datetime(2031, 4, 22, 9, tzinfo=UTC))
        partner, coordinator = signed_in(PARTNER_EMAIL, PARTNER_PASSWORD), signed_in(COORDINATOR)
        work_plan = f"{overview}/deliverables/{due['work_plan1']}"
        form = form_on(partner.get(work_plan), work_plan)
        form["note"] = "Our joint work plan: two study visits and a hydrogen webinar series."
        assert partner.post(work_plan, form).status_code == 303
        accept(coordinator, work_plan)

        # month 6: the first progress report
        months_later(datetime(2031, 8, 20, 9, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        write_report(applicant, f"{overview}/reports/{due['progress_report1']}")
        accept(coordinator, f"{overview}/deliverables/{due['progress_report1']}")

        # month 9: the roadmap is written and its draft sent for comments
        months_later(datetime(2031, 11, 20, 9, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        write_roadmap(applicant, plan_url)
        page = applicant.get(plan_url)
        shown = text_of(page)
        assert "Joint regional innovation roadmap" in shown and "Local Action Plan" not in shown
        assert shown.count("Complete") == 9 and "Send the draft" in shown
        send = f"{plan_url}/draft"
        assert applicant.post(send, form_on(page, send)).status_code == 303
        assert "Version 1 Draft for comments" in text_of(applicant.get(plan_url))
        accept(coordinator, f"{overview}/deliverables/{due['draft_lap1']}")

        # month 12: the second progress report and the final report
        months_later(datetime(2032, 2, 18, 9, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        for key in ("progress_report2", "final_report1"):
            write_report(applicant, f"{overview}/reports/{due[key]}")
            accept(coordinator, f"{overview}/deliverables/{due[key]}")
        # The last day of the period: every report is in, but the twelve months are not over.
        months_later(datetime(2032, 3, 3, 7, tzinfo=UTC))
        assert "Close the cooperation period Not available: The cooperation period runs until " \
               "03 March 2032, 09:00 Brussels time." in text_of(signed_in(COORDINATOR).get(office))

        # -- the next morning the sweep closes the cooperation
        clock.move_to(datetime(2032, 3, 4, 6, tzinfo=UTC))
        assert reminders.sweep().transitions == 1
        assert state_of(case_id) == "roadmap_submission"
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        assert "Status: Submit your joint regional innovation roadmap" in \
            text_of(applicant.get(portal))
        assert "Status: Roadmap due" in text_of(coordinator.get(office))

        # -- the applicant submits the roadmap, the coordinator approves it
        page = applicant.get(plan_url)
        assert "Submit the joint roadmap The version you submit is frozen" in text_of(page)
        submit = f"{plan_url}/submit"
        assert applicant.post(submit, form_on(page, submit)).status_code == 303
        assert "Version 2 of the plan is submitted and frozen." in \
            text_of(applicant.get(plan_url))
        assert state_of(case_id) == "roadmap_review"
        assert "Status: Roadmap in review" in text_of(coordinator.get(office))
        review = f"{plan_url}/review"
        form = form_on(coordinator.get(plan_url), review)
        form["decision"] = "approve"
        assert coordinator.post(review, form).status_code == 303
        shown = text_of(coordinator.get(plan_url))
        assert "The plan is approved; the case is completed." in shown
        assert "Version 2 Submitted for approval" in shown and "Approved" in shown
        assert state_of(case_id) == "completed"
        assert "Status: Completed" in text_of(applicant.get(portal))
        page = coordinator.get(office)

    # -- the audit trail holds every step, in order, with who took it
    audit = page.get_data(as_text=True).split('id="audit-title"', 1)[1]
    steps = [a for a in re.findall(r"<code>([a-z_]+)</code>", audit)
             if a not in ("start", "save_section")]
    assert steps == [
        "submit", "declare_eligible", "scores_saved", "select", "propose_pairing",
        "invite_partner_contact", "accept_pairing", "accept_pairing", "sign", "sign",
        *["deliverable_submitted", "deliverable_accepted"] * 5,
        "close_cooperation", "submit_roadmap", "deliverable_submitted", "approve_roadmap"]
    roles = {(e.action, e.actor_role) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id))}
    assert {("accept_pairing", "partner"), ("accept_pairing", "applicant"),
            ("sign", "partner"), ("sign", "applicant"), ("close_cooperation", "system"),
            ("approve_roadmap", "coordinator")} <= roles

    # -- and the e-mails to both parties were queued, each in its turn
    queued = db.session.scalars(select(Notification).where(
        Notification.case_id == case_id).order_by(Notification.id)).all()
    journey = [n for n in queued if n.id > demo_mail]

    def mails_to(address: str) -> list[str]:
        return [n.template for n in journey
                if n.to_email == address and n.template != "reminder_deliverable"]

    accepted = ["deliverable_accepted"] * 5
    assert mails_to(SILESIA) == [
        "declared_eligible", "pairing_proposed", "agreement_to_sign", "cooperation_started",
        *accepted, "state_changed", "lap_submitted", "lap_approved"]
    assert mails_to(PARTNER_EMAIL) == [
        "invitation", "agreement_to_sign", "cooperation_started", *accepted, "lap_approved"]
    reminded = {address: {n.deadline_id for n in journey if n.to_email == address
                          and n.template == "reminder_deliverable"}
                for address in (SILESIA, PARTNER_EMAIL)}
    assert reminded[SILESIA] and reminded[SILESIA] == reminded[PARTNER_EMAIL]
    # The start and the end, as the worker sends them: twelve months, a roadmap.
    bookends = [n for n in journey if n.template in ("cooperation_started", "lap_approved")]
    assert sorted((n.template, n.to_email) for n in bookends) == [
        ("cooperation_started", PARTNER_EMAIL), ("cooperation_started", SILESIA),
        ("lap_approved", PARTNER_EMAIL), ("lap_approved", SILESIA)]
    for n in bookends:
        sent = delivered(app, n)
        body = " ".join(sent.get_body(preferencelist=("plain",)).get_content().split())
        if n.template == "lap_approved":
            assert sent["Subject"] == f"[{reference}] Joint regional innovation roadmap approved"
            assert "approved the joint regional innovation roadmap" in body
        else:
            assert "Your 12 months of cooperation begin now." in body
        assert "Local Action Plan" not in body
