"""Requests that used to end in a 500 get a clear 400; what a signed-in person sees is never
cached; instance files are readable by the app's own account alone."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from tests.integration.test_pairing_board import board_post, partner, waiting_case
from webapp.db import db
from webapp.mail import delivery, outbox, rendering
from webapp.models import Case, Document, Notification, User
from webapp.operations import applications, documents, tokens

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _group_draft(browser, world) -> int:
    world.org_a.kind = "group"
    db.session.commit()
    case = applications.start_application(world.applicant_a, world.call.id)
    browser.login(world.applicant_a.email)
    return case.id


# -- file names -----------------------------------------------------------------------------

def test_a_very_long_file_name_is_cut_safely(app, world, browser):
    case_id = _group_draft(browser, world)
    url = f"/my/cases/{case_id}/sections/members"
    browser.get(url)
    name = "commitment-" + "é" * 150 + "x" * 300 + ".pdf"
    resp = browser.post(url, {"name": "Lead city", "population": "70000", "is_lead": "y",
                              "letter": (io.BytesIO(PDF), name)},
                        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    doc = db.session.scalar(select(Document))
    assert len(doc.filename) <= 255 and doc.filename.endswith(".pdf")
    assert documents.blob_path(doc.sha256).exists()


def test_a_transaction_that_fails_leaves_no_file_behind(app, world):
    unique = PDF + b"% never kept\n"
    with pytest.raises(RuntimeError), db.transaction() as session:
        doc = documents.store(session, io.BytesIO(unique), "letter.pdf", kind="letter",
                              user=world.applicant_a)
        path = documents.blob_path(doc.sha256)
        assert path.exists()
        raise RuntimeError("something later in the transaction fails")
    assert not path.exists()
    # A file the database keeps stays, even when a later upload of the same bytes fails.
    with db.transaction() as session:
        kept = documents.store(session, io.BytesIO(PDF), "a.pdf", kind="letter", user=None)
    with pytest.raises(RuntimeError), db.transaction() as session:
        documents.store(session, io.BytesIO(PDF), "b.pdf", kind="letter", user=None)
        raise RuntimeError("fails")
    assert documents.blob_path(kept.sha256).exists()


def test_stored_file_names_keep_their_extension_within_the_limit():
    assert documents.stored_filename("../../etc/passwd") == "etc_passwd"
    assert documents.stored_filename("") == "upload.pdf"
    cut = documents.stored_filename("a" * 400 + ".pdf")
    assert len(cut) == 255 and cut.endswith(".pdf")
    assert len(documents.stored_filename("b" * 400)) == 255


# -- the next address ------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/my/%0d%0aSet-Cookie:%20x=1", "/%09/evil.example",
                                    "/my/%0aLocation:%20https://evil.example"])
def test_a_next_address_with_control_characters_is_a_400(app, world, browser, target):
    assert browser.get(f"/account/login?next={target}").status_code == 400
    browser.get("/account/login")
    resp = browser.post(f"/account/login?next={target}",
                        {"email": world.applicant_a.email, "password": "correct horse battery"})
    assert resp.status_code == 400
    resp = browser.post("/language", {"lang": "fr", "next": target.replace("%0d", "\r")
                                      .replace("%0a", "\n").replace("%09", "\t")})
    assert resp.status_code in (400, 404)


def test_next_only_ever_leads_to_a_local_path(app, world, browser):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        browser.get("/account/login")
        resp = browser.post(f"/account/login?next={target}",
                            {"email": world.applicant_a.email,
                             "password": "correct horse battery"})
        assert resp.status_code == 302 and "evil" not in resp.headers["Location"]
        browser.post("/account/logout")
    browser.get("/account/login")
    resp = browser.post("/account/login?next=/my/", {"email": world.applicant_a.email,
                                                     "password": "correct horse battery"})
    assert resp.headers["Location"].endswith("/my/")


# -- the pairing board -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["99999999999", "2147483648", "²"])
def test_an_out_of_range_choice_on_the_pairing_board_is_a_form_error(world, browser, value):
    partner("Quito", "water", country="EC")
    case = waiting_case(world, world.applicant_a, "water")
    browser.login(world.coordinator.email)
    url = f"/office/pairing/calls/{world.call.id}/board"
    data = board_post(browser.get(url).get_data(as_text=True), **{f"partner_{case.id}": value})
    data["case_ids"] = f"{data['case_ids']},99999999999"
    resp = browser.post(url, data)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "Choose one of the partner cities offered" in body or "Not a valid choice" in body
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "awaiting_pairing"
    propose = browser.post(f"/office/pairing/cases/{case.id}/propose",
                           {"partner_city_id": value, "version": "99999999999"})
    assert propose.status_code == 400


# -- mail to a name kept from before names refused line breaks ----------------------------------

def test_a_legacy_name_with_a_line_break_still_gets_its_mail(app, world):
    anna = db.session.get(User, world.applicant_a.id)
    anna.name = "Anna\r\nBcc: everyone@city.eu\x0b"
    db.session.commit()
    with db.transaction() as session:
        outbox.queue(session, key="legacy-name", template="account_exists", user=anna)
    n = db.session.scalar(select(Notification).where(Notification.idempotency_key ==
                                                     "legacy-name"))
    message = rendering.build_message(n)
    assert message["To"] == '"Anna Bcc: everyone@city.eu" <anna@lyon.fr>'
    assert "\n" not in message["To"] and bytes(message)
    assert delivery.deliver(n.id).status == "sent"
    sent = list(Path(app.config["MAIL_SINK_DIR"]).glob("*.eml"))
    assert sent and all(mode(p) == 0o600 for p in sent)
    assert mode(Path(app.config["MAIL_SINK_DIR"])) == 0o700


# -- caching -------------------------------------------------------------------------------------

def test_signed_in_pages_exports_and_the_api_are_never_stored(app, world, browser):
    public = browser.get("/")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    browser.login(world.applicant_a.email)
    for url in ("/my/", "/account/", "/account/data.json", "/"):
        resp = browser.get(url)
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == "no-store", url
    css = browser.get("/static/css/citypair.css")
    assert "no-store" not in css.headers.get("Cache-Control", "")
    css.close()
    secret = tokens.create_token(world.applicant_a, "cache").secret
    client = app.test_client()
    for url in ("/api/v1/calls", "/api/v1/me/data", "/api/v1/public/pairings"):
        resp = client.get(url, headers={"Authorization": f"Bearer {secret}"})
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store", url
    assert client.get("/api/v1/cases").headers["Cache-Control"] == "no-store"  # a 401 too


# -- file modes ------------------------------------------------------------------------------------

def test_uploads_and_the_database_are_private_files(app, world, backend):
    case = complete_application(applications.start_application(world.applicant_a,
                                                               world.call.id))
    with db.transaction() as session:
        doc = documents.store(session, io.BytesIO(PDF + b"% modes\n"), "m.pdf", kind="letter",
                              user=world.applicant_a, case_id=case.id)
    blob = documents.blob_path(doc.sha256)
    assert mode(blob) == 0o600 and mode(blob.parent) == 0o700
    assert mode(Path(app.config["UPLOAD_DIR"])) == 0o700
    if backend == "sqlite":
        database = Path(re.sub(r"^sqlite:///", "", app.config["DATABASE_URL"]))
        assert mode(database) == 0o600
        wal = database.with_name(database.name + "-wal")
        assert not wal.exists() or mode(wal) == 0o600
    broker = Path(app.config["INSTANCE_DIR"]) / "broker"
    assert not broker.exists() or mode(broker / "processed") == 0o700


def test_imported_partner_contacts_refuse_line_breaks_in_names(app, world):
    from webapp.operations import pairing

    rows = ("name,country,region,population,topics,challenge_statement,contact_name,"
            "contact_email\nCuritiba,Brazil,Latin America and the Caribbean,1948626,water,"
            "Buses,\"Ana\rBcc: all@x.br\",ana@curitiba.br\n")
    with pytest.raises(pairing.ImportRefused) as refused:
        pairing.read_partner_csv(rows, world.coordinator)
    assert "line break" in " ".join(refused.value.reasons)
