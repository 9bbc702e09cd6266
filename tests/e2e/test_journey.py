"""A group of municipalities, from creating its account to a completed cooperation, through
the screens of a real browser: the app served on loopback, mail sent by a Celery worker
process to an SMTP server, every page photographed and checked with axe-core."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.factories import PASSWORD
from webapp.db import db, utcnow
from webapp.models import Case, Deadline, Deliverable, Reminder
from workflows.schedule import add_months

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

#: a small valid PDF: the member municipality's signed commitment letter
LETTER = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
          b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
          b"trailer<</Root 1 0 R>>\n%%EOF\n")
CITY_EMAIL = "ines@valdemoro.es"
CITY_PASSWORD = "a long enough password"
CHALLENGE = ("Our towns want cleaner, safer streets: shared mobility data and bus priority "
             "planned together with the people who live here.")


def sign_in(pages, email, password=PASSWORD, **options):
    page = pages.open(**options)
    page.goto("/account/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/account/login" not in page.url, page.content()[:3000]
    return page


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def act(page, label: str, **fields) -> None:
    """Open the action called ``label`` on a case page, fill its fields and press it."""
    summary = page.locator("summary", has_text=label)
    if summary.count():
        summary.first.click()
        form = page.locator("details", has=summary.first).locator("form")
    else:
        form = page.locator("form", has=page.get_by_role("button", name=label, exact=True))
    for name, value in fields.items():
        form.get_by_label(name).fill(value)
    form.get_by_role("button", name=label, exact=True).click()
    page.wait_for_load_state()


def case_state(case_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(Case.state).where(Case.id == case_id))


def let_months_pass(case_id: int, months: int) -> None:
    """The test's stand-in for the calendar: everything the cooperation scheduled happened
    ``months`` earlier, as if the agreement had been signed that long ago."""
    db.session.rollback()
    case = db.session.get(Case, case_id)
    case.cooperation_start = add_months(case.cooperation_start, -months)
    case.cooperation_ends_at = add_months(case.cooperation_ends_at, -months)
    for d in db.session.scalars(select(Deliverable).where(Deliverable.case_id == case_id)):
        d.opens_at, d.due_at = add_months(d.opens_at, -months), add_months(d.due_at, -months)
    for d in db.session.scalars(select(Deadline).where(Deadline.case_id == case_id)):
        d.due_at = add_months(d.due_at, -months)
    # Reminders for dates now long past are not what this journey is about.
    db.session.execute(update(Reminder).where(Reminder.case_id == case_id)
                       .values(done_at=utcnow()))
    db.session.commit()


def members_step(city) -> None:
    for name, population, lead in (("Valdemoro", "80000", True), ("Pinto", "53000", False)):
        city.get_by_label("Municipality", exact=True).fill(name)
        city.get_by_label("Population", exact=True).fill(population)
        if lead:
            city.get_by_label("This is the lead urban authority").check()
        else:
            city.get_by_label("Commitment letter (PDF)").set_input_files(
                {"name": f"{name.lower()}-letter.pdf", "mimeType": "application/pdf",
                 "buffer": LETTER})
        city.get_by_role("button", name="Add this municipality").click()
        city.wait_for_load_state()
    assert city.get_by_text("Letter uploaded").count() == 1
    city.get_by_role("button", name="Continue").click()
    city.wait_for_load_state()


def save_and_continue(fill):
    def step(city) -> None:
        fill(city)
        city.get_by_role("button", name="Save and continue").click()
        city.wait_for_load_state()
    return step


def topics_step(city) -> None:
    city.get_by_label("Smart city").check()
    city.get_by_label("Urban mobility").check()
    city.get_by_label("Your challenge").fill(CHALLENGE)


def partnership_step(city) -> None:
    city.get_by_label("Latin America and the Caribbean").check()
    city.get_by_label("Local stakeholders you will involve").fill(
        "The regional transport consortium, two universities and neighbourhood associations.")


def commitments_step(city) -> None:
    for box in city.locator("main input[type=checkbox]").all():
        box.check()


STEPS = {
    "organisation": save_and_continue(lambda city: None),
    "contact": save_and_continue(lambda city: None),
    "members": members_step,
    "topics": save_and_continue(topics_step),
    "partnership": save_and_continue(partnership_step),
    "resources": save_and_continue(lambda city: city.locator("main textarea").first.fill(
        "Two officers at 40% for 18 months and a travel budget.")),
    "commitments": save_and_continue(commitments_step),
}


def write_report(page, n: int) -> None:
    """The report of the ``n``-th six months, written by the city."""
    start = add_months(utcnow(), -19 + 6 * n).date()
    page.get_by_label("From").fill(start.isoformat())
    page.get_by_label("Until").fill((add_months(start, 6) - timedelta(days=1)).isoformat())
    page.get_by_label("Achievements").fill(f"Study visit {n + 1} and a joint bus-priority "
                                           "workshop with Rosario's planners.")
    page.get_by_label("Next steps").fill("A pilot bus lane on the Valdemoro–Pinto road.")
    page.get_by_label("Progress on the plan").fill("The stakeholder group met twice.")


def write_plan_section(page, key: str) -> None:
    """Fills every field of one section of the plan and moves on."""
    form = page.locator("main form", has=page.get_by_role("button", name=re.compile("^Save")))
    if key == "stakeholders":
        while form.locator("select").count() < 5:  # each of the five sectors
            form.get_by_role("button", name="Add another row").click()
            page.wait_for_load_state()
    for i, menu in enumerate(form.locator("select").all()):
        menu.select_option(index=i + 1)
    for box in form.locator("input[type=checkbox][name=sdg_topics]").all()[:1]:
        box.check()
    for field in form.locator("textarea, input[type=text], input[type=number]").all():
        if re.search(r"(cost|budget)$", field.get_attribute("name") or ""):
            field.fill("250000")
        elif not field.input_value():
            field.fill(f"{key.title()}: shared with Rosario, agreed with our stakeholders.")
    for field in form.locator("input[type=date]").all():
        if not field.input_value():
            field.fill("2027-03-01")
    more = form.get_by_role("button", name="Save and continue")
    (more if more.count() else form.get_by_role("button", name="Save and return to the plan")
     ).click()
    page.wait_for_load_state()
    problem = page.locator(".error-summary")
    assert not problem.count(), f"{key}: {problem.inner_text()}"


def test_a_group_of_municipalities_from_account_to_completed_cooperation(world, live, pages):
    # -- the city creates its account and confirms it by the link in the e-mail
    city = pages.open()
    city.goto("/")
    pages.check(city, "home")
    city.get_by_role("link", name="Create an account").first.click()
    pages.check(city, "register")
    city.get_by_label("Your full name").fill("Inés Navarro")
    city.get_by_label("E-mail address").fill(CITY_EMAIL)
    city.get_by_label("Your city, municipality or group").fill("Sur de Madrid towns")
    city.get_by_label("Group of municipalities").check()
    city.get_by_label("Country").select_option(label="Spain")
    city.get_by_label("Create a password").fill(CITY_PASSWORD)
    city.get_by_label("Type the password again").fill(CITY_PASSWORD)
    city.get_by_label("I have read the privacy notice").check()
    city.get_by_role("button", name="Create account").click()
    city.wait_for_load_state()
    pages.check(city, "check your e-mail")
    assert CITY_EMAIL in city.content()
    mail = live.mail_to(CITY_EMAIL)
    city.goto(live.link_in(mail, "/account/confirm/"))
    pages.check(city, "e-mail confirmed")

    # -- applies as a group of municipalities, saves a draft and signs out
    city.goto("/account/login")
    city.get_by_label("E-mail address").fill(CITY_EMAIL)
    city.get_by_label("Password").fill(CITY_PASSWORD)
    city.get_by_role("button", name="Sign in").click()
    city.wait_for_load_state()
    city.goto("/my/")
    pages.check(city, "applicant dashboard")
    city.get_by_role("button", name=re.compile("Start or continue your application")).click()
    city.wait_for_load_state()
    pages.check(city, "application task list")
    case_id = int(re.search(r"/my/cases/(\d+)", city.url).group(1))

    city.get_by_role("link", name="Organisation").first.click()
    pages.check(city, "step organisation")
    city.get_by_label("Group of municipalities").check()
    city.get_by_role("button", name="Save and continue").click()
    city.wait_for_load_state()
    pages.check(city, "step contact")
    city.get_by_label("Full name").fill("Inés Navarro")
    city.get_by_label("Job title").fill("Head of European affairs")
    city.get_by_role("button", name="Save as draft").click()
    city.wait_for_load_state()
    pages.check(city, "draft saved")
    sign_out(city)
    pages.check(city, "signed out")

    # -- comes back later, finds the draft as it was left, completes and submits it
    city = sign_in(pages, CITY_EMAIL, CITY_PASSWORD)
    city.goto(f"/my/cases/{case_id}/sections/contact")
    assert city.get_by_label("Job title").input_value() == "Head of European affairs"
    city.get_by_role("button", name="Save and continue").click()
    city.wait_for_load_state()
    while "/sections/" in city.url:
        section = city.url.rsplit("/", 1)[-1]
        pages.check(city, f"step {section}")
        STEPS[section](city)
    pages.check(city, "check your answers")
    assert "Valdemoro" in city.content() and "Pinto" in city.content()
    city.get_by_role("button", name="Submit application").click()
    city.wait_for_load_state()
    pages.check(city, "application submitted")
    assert case_state(case_id) == "eligibility_review"
    assert live.mail_to(CITY_EMAIL, "") is not None


    # -- the coordinator asks for more; the city answers; the coordinator declares it eligible
    coordinator = sign_in(pages, world.coordinator.email)
    coordinator.goto("/office/cases")
    pages.check(coordinator, "coordinator case list")
    coordinator.get_by_role("link", name=re.compile(r"IUC-\d{4}-\d+")).first.click()
    coordinator.wait_for_load_state()
    pages.check(coordinator, "coordinator case page")
    deadline = (utcnow() + timedelta(days=14)).strftime("%Y-%m-%dT12:00")
    act(coordinator, "Request information", **{
        "What do you need from the applicant?": "Please add the population of Pinto's "
                                                "districts you will involve.",
        "Response deadline": deadline})
    pages.check(coordinator, "information requested")
    assert case_state(case_id) == "information_requested"
    assert "information" in str(live.mail_to(CITY_EMAIL, "information")["Subject"]).lower()

    city.goto(f"/my/cases/{case_id}")
    pages.check(city, "city sees the request")
    city.get_by_label("Your answer").fill("All five districts of Pinto: 53,000 inhabitants.")
    city.get_by_role("button", name="Send my answer").click()
    city.wait_for_load_state()
    pages.check(city, "answer sent")
    assert case_state(case_id) == "eligibility_review"

    coordinator.reload()
    act(coordinator, "Declare eligible")
    pages.check(coordinator, "declared eligible")
    assert case_state(case_id) == "awaiting_pairing"

    # -- the pairing board proposes Rosario; both sides accept
    coordinator.goto(f"/office/pairing/calls/{world.call.id}/board")
    pages.check(coordinator, "pairing board")
    coordinator.get_by_role("button", name="Create these proposals").click()
    coordinator.wait_for_load_state()
    pages.check(coordinator, "pairing proposed")
    assert case_state(case_id) == "pairing_proposed"

    city.goto(f"/my/cases/{case_id}")
    pages.check(city, "city sees the proposal")
    act(city, "Accept the pairing")
    partner = sign_in(pages, world.partner.email)
    partner.goto("/my/")
    # Rosario's contact works in Spanish: the screens, and the e-mails from now on, follow.
    partner.get_by_role("button", name="Español").click()
    partner.wait_for_load_state()
    assert partner.locator("html").get_attribute("lang") == "es"
    pages.check(partner, "partner dashboard in Spanish")
    partner.get_by_role("link", name=re.compile(r"IUC-\d{4}-\d+")).first.click()
    partner.wait_for_load_state()
    partner.locator("form[action$='/act/accept_pairing'] button[type=submit]").click()
    partner.wait_for_load_state()
    pages.check(partner, "partner accepted")
    assert case_state(case_id) == "agreement_pending"
    assert live.mail_to(world.partner.email, "El emparejamiento está aceptado")

    # -- both sign the Partnership Agreement
    for who, signer, title in ((city, "Inés Navarro", "Mayor of Valdemoro"),
                               (partner, world.partner.name, "Secretary for Mobility")):
        who.goto(f"/agreements/{case_id}")
        pages.check(who, f"agreement to sign ({signer})")
        form = who.locator("form[action$='/sign/typed']")
        form.locator("input[name$=full_name]").fill(signer)
        form.locator("input[name$=title]").fill(title)
        form.locator("input[type=checkbox]").check()
        form.locator("button[type=submit]").click()
        who.wait_for_load_state()
        pages.check(who, f"signed ({signer})")
    assert case_state(case_id) == "cooperation_active"

    # -- eighteen months go by (see let_months_pass); the reports go in through the screens
    let_months_pass(case_id, 19)
    city.goto(f"/cooperation/cases/{case_id}")
    pages.check(city, "cooperation overview")
    city.goto(f"/cooperation/cases/{case_id}/reports")
    pages.check(city, "reports")
    titles = [a.inner_text() for a in city.locator("main table a").all()]
    assert [t.split(" (")[0] for t in titles[:4]] == [
        "Progress report 1", "Progress report 2", "Progress report 3", "Final report"], titles
    for n, title in enumerate(titles[:4]):
        city.goto(f"/cooperation/cases/{case_id}/reports")
        city.get_by_role("link", name=title, exact=True).click()
        city.wait_for_load_state()
        if n == 0:
            pages.check(city, "report form")
        write_report(city, n)
        city.get_by_role("button", name="Submit the report").click()
        city.wait_for_load_state()
        assert "Submitted" in city.content() or "submitted" in city.content(), title
    pages.check(city, "reports submitted")
    reports = db.session.scalars(select(Deliverable.id).where(
        Deliverable.case_id == case_id, Deliverable.kind.in_(("progress_report", "final_report"))
    ).order_by(Deliverable.due_at)).all()
    report_urls = [f"/cooperation/cases/{case_id}/reports/{d}" for d in reports]

    # -- the coordinator accepts each report
    for n, url in enumerate(report_urls):
        coordinator.goto(url)
        if n == 0:
            pages.check(coordinator, "report to review")
        coordinator.get_by_label("Accept it").check()
        coordinator.get_by_label("Comments").fill("Thank you: clear and complete.")
        coordinator.get_by_role("button", name="Record the review").click()
        coordinator.wait_for_load_state()
    pages.check(coordinator, "reports accepted")
    db.session.rollback()
    assert set(db.session.scalars(select(Deliverable.status).where(
        Deliverable.case_id == case_id,
        Deliverable.kind.in_(("progress_report", "final_report"))))) == {"accepted"}

    # -- the coordinator closes the period; the city writes and submits its Local Action Plan
    coordinator.goto(f"/office/cases/{case_id}")
    act(coordinator, "Close the cooperation period")
    pages.check(coordinator, "cooperation closed")
    assert case_state(case_id) == "lap_submission"

    city.goto(f"/cooperation/cases/{case_id}/plan")
    pages.check(city, "local action plan")
    city.locator("main table a, main ol a, main ul a").filter(
        has_text="Summary").first.click()
    city.wait_for_load_state()
    while "/plan/sections/" in city.url:
        key = city.url.rsplit("/", 1)[-1]
        pages.check(city, f"plan section {key}")
        write_plan_section(city, key)
    pages.check(city, "plan complete")
    city.get_by_role("button", name="Submit the Local Action Plan").click()
    city.wait_for_load_state()
    pages.check(city, "plan submitted")
    assert case_state(case_id) == "lap_review"

    # -- the coordinator approves it: the cooperation is completed
    coordinator.goto(f"/cooperation/cases/{case_id}/plan")
    pages.check(coordinator, "plan review")
    coordinator.get_by_label("Approve").check()
    coordinator.get_by_role("button", name="Record the decision").click()
    coordinator.wait_for_load_state()
    pages.check(coordinator, "plan approved")
    assert case_state(case_id) == "completed"
    city.goto(f"/my/cases/{case_id}")
    pages.check(city, "city sees completed")
    assert "Completed" in city.locator("main").inner_text()

    pages.assert_clean()
