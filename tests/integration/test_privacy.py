"""Personal data: a person's export, an admin's erasure and the retention rule, on both
databases; the audit trail's append-only trigger on PostgreSQL."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories import World, complete_application, sign_agreement
from webapp.db import Base, db, utcnow
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    Comment,
    Deadline,
    Document,
    MailingSubscriber,
    Notification,
    Signature,
    User,
)
from webapp.operations import (
    agreements,
    applications,
    assessment,
    backoffice,
    cases,
    documents,
    privacy,
)
from webapp.operations import tokens as token_ops

pytestmark = pytest.mark.integration

NAME = "Anna Martínez"
EMAIL = "anna@lyon.fr"


def pdf(marker: str) -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n%" + marker.encode() +
            b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def store(case_id: int | None, user: User, marker: str, kind: str = "attachment") -> Document:
    with db.transaction() as session:
        return documents.store(session, io.BytesIO(pdf(marker)), f"{marker}.pdf", kind=kind,
                               user=user, case_id=case_id)


@dataclass
class Story:
    world: World
    signed: Case  # submitted, paired, agreement signed by Anna
    draft: Case  # Anna's draft on a second call
    kept: Document  # her upload to the submitted case
    dropped: Document  # her upload to the draft
    shared: Document  # her draft upload whose bytes another case's document shares


def story(world: World) -> Story:
    """Anna applies, is paired, signs, gets comments and mail, keeps a draft elsewhere."""
    anna = world.applicant_a
    anna.name = NAME
    db.session.commit()
    draft = applications.start_application(anna, world.call.id)
    case = complete_application(db.session.get(Case, draft.id))
    case.contact_name, case.contact_phone = NAME, "+33 4 72 10 30 30"
    db.session.commit()
    kept = store(case.id, anna, "kept-letter", "commitment_letter")
    cases.fire(case.id, "submit", anna, source_address="192.0.2.7")
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", anna)
    cases.fire(case.id, "accept_pairing", world.partner)
    sign_agreement(case.id, anna)
    backoffice.add_comment(case.id, world.coordinator,
                           f"Phoned {NAME} ({EMAIL}) about the budget.", internal=False)
    token_ops.create_token(anna, "My script")
    db.session.add(MailingSubscriber(email=EMAIL, secret="s" * 32, interests=["Asia"]))
    db.session.commit()

    second = Call(programme=world.programme, slug="c2c-2", kind="city-to-city",
                  title="Second call", partner_regions=list(world.call.partner_regions),
                  opens_at=world.call.opens_at, closes_at=world.call.closes_at)
    db.session.add(second)
    db.session.commit()
    other = applications.start_application(anna, second.id)
    dropped = store(other.id, anna, "draft-only")
    shared = store(other.id, anna, "shared-bytes")
    # Porto's coordinator-held copy of the same bytes must survive Anna's erasure.
    store(None, world.coordinator, "shared-bytes")
    db.session.expire_all()
    return Story(world, db.session.get(Case, case.id), db.session.get(Case, other.id),
                 kept, dropped, shared)


def dump_all(skip: set[str]) -> str:
    """Every row of every table as one lower-cased text, to look for personal strings."""
    parts = []
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        for row in db.session.execute(select(table)):
            parts.append(repr(tuple(row)))
            parts.append(json.dumps([v for v in row if isinstance(v, dict | list)]))
    return "\n".join(parts).lower()


# -- export ------------------------------------------------------------------------------

def test_export_holds_the_persons_data_and_nobody_elses(app, world, browser):
    s = story(world)
    applications.start_application(world.applicant_b, world.call.id)
    browser.login(EMAIL)
    resp = browser.get("/account/")
    assert "/account/data.json" in resp.get_data(as_text=True)
    resp = browser.get("/account/data.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store"
    data = json.loads(resp.get_data(as_text=True))
    assert data["account"]["email"] == EMAIL
    assert "password_hash" not in data["account"]
    assert data["organisation"]["name"] == "Lyon"
    assert {c["reference"] for c in data["cases"]} == {s.signed.reference, s.draft.reference}
    assert [sig["full_name"] for sig in data["signatures"]] == [NAME]
    assert {d["filename"] for d in data["documents_uploaded"]} == {
        "kept-letter.pdf", "draft-only.pdf", "shared-bytes.pdf"}
    assert [t["name"] for t in data["api_tokens"]] == ["My script"]
    assert all("token_hash" not in t for t in data["api_tokens"])
    assert {"submit", "accept_pairing"} <= {e["action"] for e in data["audit_events"]}
    assert data["notifications"] and all(n["user_id"] == world.applicant_a.id
                                         for n in data["notifications"])
    assert data["preferences"]["notifications"] == "immediate"
    assert [m["interests"] for m in data["mailing_list"]] == [["Asia"]]
    assert "secret" not in data["mailing_list"][0]
    raw = resp.get_data(as_text=True)
    assert "bruno@porto.pt" not in raw and "Porto" not in raw


def test_api_gives_each_caller_their_own_data(app, world):
    story(world)
    client = app.test_client()
    for person in (world.applicant_a, world.applicant_b):
        secret = token_ops.create_token(person, "export").secret
        resp = client.get("/api/v1/me/data", headers={"Authorization": f"Bearer {secret}"})
        assert resp.status_code == 200
        data = resp.get_json()
        assert data["account"]["id"] == person.id
        mine = person is world.applicant_a
        assert bool(data["signatures"]) is mine and bool(data["cases"]) is mine
    assert client.get("/api/v1/me/data").status_code == 401


def test_privacy_notice_tells_the_retention_period_export_and_erasure(app, browser):
    page = browser.get("/privacy").get_data(as_text=True)
    years = app.config["RETENTION_YEARS"]
    assert f"deleted {years} years after their call closed" in page
    assert "Get a copy of your data" in page and "Having your data erased" in page


def test_export_needs_signing_in(app, browser):
    resp = browser.get("/account/data.json")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


# -- erasure -----------------------------------------------------------------------------

def test_erasure_pseudonymises_keeps_decisions_and_deletes_only_unneeded_files(app, world,
                                                                               browser):
    s = story(world)
    anna_id = world.applicant_a.id
    assert s.signed.state == "agreement_pending"
    trail = [(e.id, e.action, e.from_state, e.to_state, e.case_id)
             for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    blob = {d: documents.blob_path(d.sha256) for d in (s.kept, s.dropped, s.shared)}
    assert all(p.exists() for p in blob.values())
    before = dump_all(skip=set())
    assert NAME.lower() in before and EMAIL in before and "192.0.2.7" in before

    done = privacy.erase_person(anna_id, world.admin, source_address="198.51.100.1")

    db.session.expire_all()
    # The agreement's text is the document both parties signed: it stays as issued.
    after = dump_all(skip={"agreement"})
    escaped = json.dumps(NAME.lower())[1:-1]  # as JSON columns hold it
    assert escaped in before
    for old in (NAME.lower(), escaped, EMAIL, "192.0.2.7", "+33 4 72 10 30 30"):
        assert old not in after, old
    alias = privacy.pseudonym(anna_id)
    assert done.pseudonym == alias and alias.lower() in after
    assert "rosa@rosario.ar" in after and "bruno@porto.pt" in after  # others stay as they are
    anna = db.session.get(User, anna_id)
    assert anna.name == alias and anna.email.endswith("@erased.invalid")
    assert anna.erased_at is not None and anna.password_hash is None and not anna.is_active
    signed = db.session.get(Case, s.signed.id)
    assert signed.state == "agreement_pending" and signed.contact_name == alias
    sig = db.session.scalar(select(Signature).where(Signature.case_id == signed.id,
                                                    Signature.user_id == anna_id))
    assert sig.full_name == alias and sig.agreement_hash  # still bound to the version signed
    comment = db.session.scalar(select(Comment).where(Comment.case_id == signed.id))
    assert comment.body == f"Phoned {alias} ({alias}) about the budget."
    # What happened on the case is unchanged, plus one record of the erasure.
    now_trail = [(e.id, e.action, e.from_state, e.to_state, e.case_id)
                 for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert now_trail[:-1] == trail
    erasure = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert erasure.action == "erase_person" and erasure.actor_id == world.admin.id
    assert erasure.payload["pseudonym"] == alias and erasure.case_id is None
    assert all(e.actor_label == alias and e.source_address == "" for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == anna_id)))
    # Files: the submitted case's letter stays; the draft's go, unless another upload shares them.
    remaining = set(db.session.scalars(select(Document.id)))
    assert s.kept.id in remaining and not {s.dropped.id, s.shared.id} & remaining
    assert blob[s.kept].exists() and blob[s.shared].exists()
    assert not blob[s.dropped].exists()
    assert done.documents_deleted == 2 and done.files_deleted == [str(blob[s.dropped])]
    # No mail waits for her; her tokens are revoked; she cannot sign in.
    assert not db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == anna_id, Notification.status.in_(["pending", "digest"])))
    assert all(t.revoked_at for t in token_ops.list_tokens(anna))
    browser.get("/account/login")
    resp = browser.post("/account/login", {"email": EMAIL, "password":
                                           "correct horse battery"})
    assert resp.status_code != 302
    with pytest.raises(Exception, match="already been erased"):
        privacy.erase_person(anna_id, world.admin)


def test_admin_erases_through_the_page_after_typing_the_address(app, world, browser):
    bruno = world.applicant_b
    browser.login(world.admin.email)
    assert "/office/people" in browser.get("/account/").get_data(as_text=True)
    page = browser.get("/office/people?q=porto")
    assert page.status_code == 200 and "bruno@porto.pt" in page.get_data(as_text=True)
    url = f"/office/people/{bruno.id}/erase"
    assert browser.get(url).status_code == 200
    wrong = browser.post(url, {"confirm_email": "someone@else.eu"})
    assert wrong.status_code == 400
    assert "not this person" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, bruno.id).erased_at is None
    ok = browser.post(url, {"confirm_email": "Bruno@Porto.pt"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, bruno.id).erased_at is not None
    # An admin cannot erase themselves.
    own = browser.post(f"/office/people/{world.admin.id}/erase",
                       {"confirm_email": world.admin.email})
    assert own.status_code == 400 and db.session.get(User, world.admin.id).erased_at is None


def test_the_scrubber_replaces_whole_words_in_text_and_json():
    scrub = privacy.Scrubber({"Anna", "Anna Martínez", "anna@lyon.fr", " "}, "X")
    assert scrub.text("ANNA MARTÍNEZ met Annabel in Annapolis; anna@lyon.fr, anna.") == \
        "X met Annabel in Annapolis; X, X."
    assert scrub.json({"by": ["Anna", 3, None], "note": {"to": "anna@Lyon.fr"}}) == \
        {"by": ["X", 3, None], "note": {"to": "X"}}


@pytest.mark.parametrize("who", ["coordinator", "applicant_a", "partner"])
def test_only_admins_may_erase(app, world, make_browser, who):
    person = getattr(world, who)
    browser = make_browser()
    browser.login(person.email)
    assert "/office/people" not in browser.get("/account/").get_data(as_text=True)
    assert browser.get("/office/people").status_code == 403
    url = f"/office/people/{world.applicant_b.id}/erase"
    assert browser.get(url).status_code == 403
    assert browser.post(url, {"confirm_email": "bruno@porto.pt"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, world.applicant_b.id).erased_at is None
    with pytest.raises(Exception, match="administrator"):
        privacy.erase_person(world.applicant_b.id, person)


# -- retention ---------------------------------------------------------------------------

def old_case(world: World, call: Call, reference: str, state: str, **kw) -> Case:
    case = Case(reference=reference, call_id=call.id, organisation_id=world.org_a.id,
                workflow="city-to-city", state=state, created_by_id=world.applicant_a.id,
                contact_name=NAME, contact_email=EMAIL, **kw)
    db.session.add(case)
    db.session.flush()
    db.session.add_all([
        AuditEvent(case_id=case.id, actor_id=world.applicant_a.id, actor_role="applicant",
                   actor_label=NAME, action="start", to_state="draft"),
        Notification(idempotency_key=f"n:{reference}", case_id=case.id, to_email=EMAIL,
                     template="state_changed"),
        Deadline(case_id=case.id, kind="response", label="Answer", due_at=utcnow()),
    ])
    db.session.commit()
    store(case.id, world.applicant_a, f"letter-{reference}")
    return case


def test_retention_deletes_exactly_the_old_unsuccessful_applications(app, world, monkeypatch):
    now = utcnow()
    old = Call(programme=world.programme, slug="old", kind="city-to-city", title="Old call",
               opens_at=now - timedelta(days=7 * 365), closes_at=now - timedelta(days=6 * 365))
    recent = Call(programme=world.programme, slug="recent", kind="city-to-city",
                  title="Recent call", opens_at=now - timedelta(days=500),
                  closes_at=now - timedelta(days=400))
    db.session.add_all([old, recent])
    db.session.commit()
    doomed = [old_case(world, old, "OLD-1", "ineligible"),
              old_case(world, old, "OLD-2", "withdrawn"),
              old_case(world, old, "OLD-3", "draft")]
    kept = [old_case(world, old, "OLD-4", "completed", cooperation_start=now - timedelta(
                days=2000)),
            old_case(world, old, "OLD-5", "terminated", cooperation_start=now - timedelta(
                days=2000)),
            old_case(world, recent, "NEW-1", "ineligible")]
    # Withdrawn after its agreement was issued: a partnership record, kept.
    withdrawn_late = old_case(world, old, "OLD-6", "withdrawn")
    agreements.generate(db.session, withdrawn_late, now - timedelta(days=2100))
    db.session.commit()
    kept.append(withdrawn_late)
    letter = documents.blob_path(db.session.scalar(select(Document.sha256).where(
        Document.case_id == doomed[0].id)))
    assert letter.exists()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    monkeypatch.setattr("webapp.cli._app", lambda: app)
    dry = CliRunner().invoke(cli_main(), ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete OLD-1" in dry.output and "3 unsuccessful" in dry.output
    assert db.session.scalar(select(func.count()).select_from(Case)) == 7
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events

    real = CliRunner().invoke(cli_main(), ["retention"])
    assert real.exit_code == 0, real.output
    db.session.expire_all()
    left = set(db.session.scalars(select(Case.reference)))
    assert left == {c.reference for c in kept}
    gone = [c.id for c in doomed]
    for model in (AuditEvent, Document, Notification, Deadline):
        assert not db.session.scalar(select(func.count()).select_from(model).where(
            model.case_id.in_(gone))), model
    assert not letter.exists()
    summary = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert summary.action == "retention" and summary.case_id is None
    assert summary.payload["cases_deleted"] == 3
    assert NAME.lower() not in json.dumps(summary.payload).lower()
    assert EMAIL not in json.dumps(summary.payload)
    again = privacy.apply_retention()
    assert again.cases == []
    from tasks.privacy import retention

    assert retention()["cases"] == 0  # the daily beat task runs the same rule


def cli_main():
    from webapp.cli import main

    return main


# -- the append-only trigger (PostgreSQL) ------------------------------------------------

def _event(world: World) -> int:
    draft = applications.start_application(world.applicant_a, world.call.id)
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == draft.id))


@pytest.mark.postgres
def test_audit_trail_refuses_changes_outside_the_sanctioned_paths(app, world):
    event_id = _event(world)
    refused = [
        "UPDATE audit_event SET actor_label = 'x' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        # Under erasure, what happened may not change, only who did it.
        "SELECT set_config('citypair.erasure', 'on', true); "
        "UPDATE audit_event SET action = 'x' WHERE id = :id",
        # Nor the call an event names.
        "SELECT set_config('citypair.erasure', 'on', true); "
        "UPDATE audit_event SET call_id = (SELECT max(id) FROM call) WHERE id = :id",
        # The erasure setting does not allow deleting; retention does not allow updating.
        "SELECT set_config('citypair.erasure', 'on', true); DELETE FROM audit_event WHERE id = :id",
        "SELECT set_config('citypair.retention', 'on', true); "
        "UPDATE audit_event SET actor_label = 'x' WHERE id = :id",
    ]
    for statement in refused:
        with db.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="audit_event"):
                for part in statement.split("; "):
                    conn.execute(text(part), {"id": event_id})
            conn.rollback()
    with db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('citypair.erasure', 'on', true)"))
        conn.execute(text("UPDATE audit_event SET actor_label = 'Erased person #1', "
                          "source_address = '' WHERE id = :id"), {"id": event_id})
    # The setting lasted one transaction only.
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_event SET actor_label = 'y' WHERE id = :id"),
                     {"id": event_id})
    db.session.expire_all()
    assert db.session.get(AuditEvent, event_id).actor_label == "Erased person #1"


def test_an_evaluators_conflicts_are_exported_and_erasure_keeps_them_without_the_name(
        app, world):
    from tests.integration.test_cooperation import region_case_in_scoring
    from webapp.models import ConflictOfInterest

    case = region_case_in_scoring(world)
    latam = world.coordinator_latam
    name = latam.name
    assessment.declare_conflict(case.id, latam, f"{name} advised Silesia's cluster last year.")
    exported = privacy.export_person(latam.id)
    [row] = exported["conflicts_of_interest_declared"]
    assert row["case_id"] == case.id and "advised" in row["statement"]
    assert privacy.export_person(world.coordinator.id)["conflicts_of_interest_declared"] == []
    privacy.erase_person(latam.id, world.admin)
    db.session.expire_all()
    kept = db.session.scalar(select(ConflictOfInterest).where(
        ConflictOfInterest.case_id == case.id))
    assert kept.evaluator_id == latam.id and name not in kept.statement
    assert kept.statement.startswith(privacy.pseudonym(latam.id))
