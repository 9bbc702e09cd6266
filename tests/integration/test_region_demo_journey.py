"""The region-to-region call of the demo, end to end through the screens, in its own words.

Silesia's application (``citypair demo``) is scored by two evaluators on their own (a third
declares a conflict of interest and cannot score), selected on the mean of their scores, paired
with a partner region (never a city) whose contact is invited, the Cooperation Agreement is
signed, twelve months of cooperation pass under a moved clock with the deliverables handed in
and accepted, and at the end of the period the final report and the joint regional innovation
roadmap are handed in (no sweep needed) and the roadmap approved. Every act of a person is an
HTTP request a browser would send from the page it was shown; the database is read only to
check the outcome and to find the invitation link a mail would carry. No page or e-mail of the
case speaks of a Local Action Plan or a partner city.
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
from webapp.mail import delivery
from webapp.models import (
    Agreement,
    AuditEvent,
    Case,
    ConflictOfInterest,
    Deadline,
    Deliverable,
    Notification,
    PartnerCity,
    Reminder,
    Signature,
    User,
)
from webapp.operations import reminders
from webapp.operations.setup import load_demo
from workflows.lap import ROADMAP

pytestmark = pytest.mark.integration

DEMO_PASSWORD = "citypair-demo"
SILESIA = "silesia@citypair.demo"
COORDINATOR = "coordinator@citypair.demo"
#: the second evaluator, and an admin who has an interest in the application
EVALUATOR = "latam@citypair.demo"
CONFLICTED = "admin@citypair.demo"
#: what the pages and e-mails of a region case never say
CITY_WORDS = ("Local Action Plan", "partner city", "Partner city", "Partnership Agreement")
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


def in_its_own_words(resp) -> str:
    """The page's text, checked to speak of regions and roadmaps only."""
    shown = text_of(resp)
    for words in CITY_WORDS:
        assert words not in shown, (words, shown[:3000])
    return shown


def write_roadmap(browser, plan_url: str) -> None:
    """The applicant fills in every section the roadmap page lists, through its section pages
    (a partner of each type the innovation partners must cover, one row in other tables)."""
    keys = re.findall(rf'href="{plan_url}/sections/(\w+)"',
                      browser.get(plan_url).get_data(as_text=True))
    assert keys == ROADMAP.keys()
    for key in keys:
        section = ROADMAP.section(key)
        url = f"{plan_url}/sections/{key}"
        wanted = max(len(section.covers), 1) if section.has_rows else 1
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
        in_its_own_words(browser.get(url))


def delivered(app, notification: Notification) -> email.message.Message:
    """The e-mail as the worker sends it (to the mail sink of the tests)."""
    assert delivery.deliver(notification.id).status == "sent"
    [sent] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{notification.id}@*.eml")
    return email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)


# -- the journey ---------------------------------------------------------------------------

def test_silesia_from_two_evaluators_to_an_approved_roadmap_in_its_own_words(app, make_browser):
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
            and has not closed this cooperation (it may close the demo's older ones)."""
            clock.move_to(when)
            reminders.sweep()
            assert state_of(case_id) == "cooperation_active"

        # -- the applicant's page speaks of its call: commitments of a region
        applicant = signed_in(SILESIA)
        shown = in_its_own_words(applicant.get(f"{portal}/check"))
        assert "Develop a joint regional innovation roadmap with the partner region" in shown
        assert "Involve the region's universities, research centres, businesses and clusters" \
               in shown

        # -- an evaluator with an interest declares it, and can no longer score
        scoring = f"{overview}/scoring"
        conflicted = signed_in(CONFLICTED)
        declare = f"{scoring}/conflict"
        form = form_on(conflicted.get(scoring), declare)
        form["statement"] = "I advised the Silesian energy cluster on this application."
        assert conflicted.post(declare, form).status_code == 303
        page = text_of(conflicted.get(scoring))
        assert "You declared a conflict of interest in this application" in page
        assert "I advised the Silesian energy cluster" in page
        assert f'action="{scoring}"' not in conflicted.get(scoring).get_data(as_text=True)
        refused = conflicted.post(scoring, {"smart_specialisation_score": "5",
                                            "joint_projects_score": "5",
                                            "business_opportunities_score": "5"})
        assert refused.status_code == 400
        assert "cannot score it" in text_of(refused)
        assert db.session.scalar(select(func.count(ConflictOfInterest.id)).where(
            ConflictOfInterest.case_id == case_id)) == 1

        # -- the first evaluator scores; one evaluator is not enough to select
        coordinator = signed_in(COORDINATOR)
        page = coordinator.get(office)
        assert "Status: Scoring" in text_of(page)
        assert "Select for pairing ! Warning: 2 evaluators must score the application; 0 " \
               "have so far." in text_of(page)
        form = form_on(coordinator.get(scoring), scoring)
        form.update(smart_specialisation_score="4", joint_projects_score="5",
                    business_opportunities_score="3",
                    smart_specialisation_comment="A clear RIS3 on clean industry.")
        assert coordinator.post(scoring, form).status_code == 303
        page = text_of(coordinator.get(scoring))
        assert "Your scores are saved." in page
        assert "2 evaluators must score the application; 1 has so far." in page
        assert "2 evaluators must score the application; 1 has so far." in \
            text_of(coordinator.get(office))

        # -- the second scores on their own; the means and spreads are shown
        evaluator = signed_in(EVALUATOR)
        form = form_on(evaluator.get(scoring), scoring)
        assert form.get("smart_specialisation_score") is None  # not the other's scores
        form.update(smart_specialisation_score="3", joint_projects_score="4",
                    business_opportunities_score="2")
        assert evaluator.post(scoring, form).status_code == 303
        page = text_of(coordinator.get(scoring))
        # criterion, threshold, mean, spread, then each evaluator's score
        assert "Support for a smart-specialisation strategy (RIS3) 3 3.5 1 4 3" in page
        assert "Potential to leverage joint new projects 3 4.5 1 5 4" in page
        assert "Total 9 10.5 3 12 9" in page
        assert "Every mean score meets its threshold" in page
        case_page = text_of(coordinator.get(office))
        assert "Assessment" in case_page and "Total 9 10.5 3" in case_page
        assert "Conflicts of interest declared by: Ada Admin." in case_page
        listed = text_of(coordinator.get("/office/cases?call=" + str(case.call_id)))
        assert "Mean score 10.5 (spread 3), 2 evaluators" in listed
        assert "Potential to leverage joint new projects: 4.5 (spread 1)" in listed
        act = f"{office}/act/select"
        assert coordinator.post(act, form_on(coordinator.get(office), act)).status_code == 303
        page = coordinator.get(office)
        assert "Status: Selected — awaiting pairing" in text_of(page)
        assert state_of(case_id) == "awaiting_pairing"

        # -- proposes Paraná, first of the suggestions, which offer partner regions only
        pairing = f"/office/pairing/cases/{case_id}"
        assert re.search(rf'<a href="{pairing}"[^>]*>\s*Propose a partner region\s*</a>',
                         page.get_data(as_text=True))
        page = coordinator.get(pairing)
        shown = text_of(page)
        assert "Suggested partners: partner region" in shown
        assert shown.index("Paraná —") < shown.index("Magallanes —") < \
            shown.index("Tierra del Fuego —")
        assert "Rosario —" not in shown  # a partner city, even in the call's region
        parana = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Paraná"))
        rosario = db.session.scalar(select(PartnerCity).where(PartnerCity.name == "Rosario"))
        propose = f"{pairing}/propose"
        form = form_on(page, propose, partner_city_id=str(parana.id))
        wrong = coordinator.post(propose, {**form, "partner_city_id": str(rosario.id)})
        assert wrong.status_code in (303, 400)
        assert "Rosario is not a partner region" in text_of(coordinator.get(pairing)) + \
            text_of(wrong)
        assert state_of(case_id) == "awaiting_pairing"
        resp = coordinator.post(propose, form)
        assert resp.status_code == 303
        page = coordinator.get(pairing)
        assert "Proposed partner: Paraná" in text_of(page)
        assert "This partner region has no contacts yet. Add a contact" in text_of(page)
        assert state_of(case_id) == "pairing_proposed"

        # -- the region's contact is added, invited, sets a password through the link
        edit = f"/office/pairing/partners/{parana.id}/edit"
        assert f'<a href="{edit}">Add a contact</a>' in page.get_data(as_text=True)
        form = form_on(coordinator.get(edit), edit)
        assert form["kind"] == "region"
        form.update({"contacts-0-name": "Ana Souza", "contacts-0-email": PARTNER_EMAIL,
                     "contacts-0-role": "State Secretariat for Innovation"})
        assert coordinator.post(edit, form).status_code == 302
        invite = f"{pairing}/invite"
        resp = coordinator.post(invite, form_on(coordinator.get(pairing), invite,
                                                email=PARTNER_EMAIL))
        assert resp.status_code == 303
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
        shown = in_its_own_words(page)
        assert "Status: A partner region is proposed — please respond" in shown
        assert "The partner region we propose" in shown
        assert partner.post(accept_pairing, form_on(page, accept_pairing)).status_code == 302
        applicant = signed_in(SILESIA)
        resp = applicant.post(accept_pairing, form_on(applicant.get(portal), accept_pairing))
        assert resp.status_code == 302
        assert state_of(case_id) == "agreement_pending"
        page = applicant.get(portal)
        assert "Status: Sign the Cooperation Agreement" in in_its_own_words(page)
        agreement = f"/agreements/{case_id}"
        assert f'<a href="{agreement}">Cooperation Agreement</a>' in page.get_data(as_text=True)

        # -- both sign with a typed signature bound to the hash the page shows
        sign = f"{agreement}/sign/typed"
        issued = db.session.scalar(select(Agreement.content_hash).where(
            Agreement.case_id == case_id, Agreement.voided_at.is_(None)))
        for who, name, title in ((applicant, "Piotr Nowak", "Head of regional development"),
                                 (partner, "Ana Souza", "Secretary for Innovation")):
            page = who.get(agreement)
            shown = in_its_own_words(page)
            assert "Cooperation Agreement" in shown and "joint regional innovation roadmap" in shown
            assert "Duration: 12 months from the start date." in shown
            form = form_on(page, sign)
            form.update({"typed-full_name": name, "typed-title": title, "typed-consent": "y"})
            assert who.post(sign, form).status_code == 302
        assert state_of(case_id) == "cooperation_active"
        assert db.session.scalars(select(Signature.agreement_hash).where(
            Signature.case_id == case_id)).all() == [issued, issued]

        # -- twelve months; the final roadmap and report open when they end, due a month on
        page = in_its_own_words(applicant.get(overview))
        assert "Started March 3, 2031 Ends March 3, 2032" in page
        assert "Draft joint regional innovation roadmap December 3, 2031 Scheduled" in page
        assert "Joint regional innovation roadmap April 2, 2032 Scheduled" in page
        assert "Final report April 2, 2032 Scheduled" in page
        due = {f"{d.kind}{d.sequence}": d for d in db.session.scalars(
            select(Deliverable).where(Deliverable.case_id == case_id))}
        ends = db.session.get(Case, case_id).cooperation_ends_at  # a year after signing
        for key in ("final_lap1", "final_report1"):
            assert due[key].opens_at == ends
            # Nobody is reminded to hand in what cannot be handed in yet.
            first = db.session.scalar(select(func.min(Reminder.scheduled_at)).join(
                Deadline, Deadline.id == Reminder.deadline_id).where(
                Deadline.deliverable_id == due[key].id))
            assert first >= ends, (key, first)
        due = {key: d.id for key, d in due.items()}

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

        # month 9: the roadmap is written in its own sections and its draft sent for comments
        months_later(datetime(2031, 11, 20, 9, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        write_roadmap(applicant, plan_url)
        page = applicant.get(plan_url)
        shown = in_its_own_words(page)
        for title in ("Smart-specialisation priorities", "Joint innovation projects",
                      "Innovation partners", "Business and investment opportunities"):
            assert title in shown
        assert "Sendai" not in shown and "Local stakeholder group" not in shown
        required = sum(1 for s in ROADMAP.sections if s.required)
        assert shown.count("Complete") == required and "Send the draft" in shown
        send = f"{plan_url}/draft"
        assert applicant.post(send, form_on(page, send)).status_code == 303
        assert "Version 1 Draft for comments" in text_of(applicant.get(plan_url))
        accept(coordinator, f"{overview}/deliverables/{due['draft_lap1']}")

        # month 12: the second progress report; the final report is not open yet
        months_later(datetime(2032, 2, 18, 9, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        write_report(applicant, f"{overview}/reports/{due['progress_report2']}")
        accept(coordinator, f"{overview}/deliverables/{due['progress_report2']}")
        final_report = f"{overview}/reports/{due['final_report1']}"
        assert "It opens for submission on" in text_of(applicant.get(final_report))
        page = in_its_own_words(applicant.get(plan_url))
        assert "Submit the joint roadmap Not available: The cooperation period runs until " \
               "03 March 2032, 09:00 Brussels time." in page
        assert not db.session.scalar(select(func.count(Notification.id)).where(
            Notification.case_id == case_id, Notification.template == "reminder_deliverable",
            Notification.deadline_id.in_(select(Deadline.id).where(
                Deadline.deliverable_id == due["final_lap1"]))))

        # -- the period ends: before any sweep, the report and the roadmap are handed in
        clock.move_to(datetime(2032, 3, 3, 8, 1, tzinfo=UTC))
        applicant, coordinator = signed_in(SILESIA), signed_in(COORDINATOR)
        write_report(applicant, final_report)
        page = applicant.get(plan_url)
        assert "Submit the joint roadmap The version you submit is frozen" in text_of(page)
        submit = f"{plan_url}/submit"
        assert applicant.post(submit, form_on(page, submit)).status_code == 303
        assert "Version 2 of the plan is submitted and frozen." in \
            text_of(applicant.get(plan_url))
        assert state_of(case_id) == "roadmap_review"
        assert "Status: Roadmap in review" in text_of(coordinator.get(office))
        accept(coordinator, f"{overview}/deliverables/{due['final_report1']}")
        review = f"{plan_url}/review"
        form = form_on(coordinator.get(plan_url), review)
        form["decision"] = "approve"
        assert coordinator.post(review, form).status_code == 303
        shown = text_of(coordinator.get(plan_url))
        assert "The plan is approved; the case is completed." in shown
        assert state_of(case_id) == "completed"
        assert "Status: Completed" in in_its_own_words(applicant.get(portal))
        page = coordinator.get(office)

    # -- the audit trail holds every step, in order, with who took it
    audit = page.get_data(as_text=True).split('id="audit-title"', 1)[1]
    steps = [a for a in re.findall(r"<code>([a-z_]+)</code>", audit)
             if a not in ("start", "save_section")]
    assert steps == [
        "submit", "declare_eligible", "conflict_declared", "scores_saved", "scores_saved",
        "select", "propose_pairing", "invite_partner_contact", "accept_pairing",
        "accept_pairing", "sign", "sign",
        *["deliverable_submitted", "deliverable_accepted"] * 4,
        "deliverable_submitted", "submit_roadmap", "deliverable_submitted",
        "deliverable_accepted", "approve_roadmap"]
    roles = {(e.action, e.actor_role) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id))}
    assert {("accept_pairing", "partner"), ("accept_pairing", "applicant"),
            ("sign", "partner"), ("sign", "applicant"), ("conflict_declared", "admin"),
            ("approve_roadmap", "coordinator")} <= roles

    # -- and the e-mails to both parties were queued, each in its turn, in the call's words
    queued = db.session.scalars(select(Notification).where(
        Notification.case_id == case_id).order_by(Notification.id)).all()
    journey = [n for n in queued if n.id > demo_mail]

    def mails_to(address: str) -> list[str]:
        return [n.template for n in journey
                if n.to_email == address and n.template != "reminder_deliverable"]

    accepted = ["deliverable_accepted"] * 5
    assert mails_to(SILESIA) == [
        "declared_eligible", "pairing_proposed", "agreement_to_sign", "cooperation_started",
        *accepted[:4], "lap_submitted", "deliverable_accepted", "lap_approved"]
    assert mails_to(PARTNER_EMAIL) == [
        "invitation", "agreement_to_sign", "cooperation_started", *accepted, "lap_approved"]
    for n in journey:
        if n.to_email not in (SILESIA, PARTNER_EMAIL) or n.template == "invitation":
            continue
        sent = delivered(app, n)
        body = " ".join(sent.get_body(preferencelist=("plain",)).get_content().split())
        for words in CITY_WORDS:
            assert words not in body and words not in sent["Subject"], (n.template, words)
        if n.template == "lap_approved":
            assert sent["Subject"] == f"[{reference}] Joint regional innovation roadmap approved"
            assert "approved the joint regional innovation roadmap" in body
        elif n.template == "declared_eligible":
            assert sent["Subject"] == f"[{reference}] Your application has been selected"
            assert "partner region" in body
        elif n.template == "cooperation_started":
            assert "Your 12 months of cooperation begin now." in body
            assert "Cooperation Agreement" in body
