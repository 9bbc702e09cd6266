"""The dashboard's tallies: kept by the transactions that change cases, equal to a recount
after every kind of change, and `citypair tallies check` finds and repairs drift."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from tests.factories import complete_application
from tests.integration.test_cooperation import by_kind, cooperating, hand_in_report
from webapp.db import db, utcnow
from webapp.models import Case, Tally
from webapp.operations import applications, cases, cooperation, tallies, vocabulary


def kept_equals_recount() -> None:
    db.session.expire_all()
    assert tallies.check(db.session) == []
    db.session.rollback()


def case_tally(case_id: int) -> tuple:
    case = db.session.get(Case, case_id)
    [(key, n)] = [(k, n) for k, n in tallies.stored(db.session).items()
                  if k[0] == "case" and k[4] == case.state and k[1] == case.call_id]
    return key, n


def test_transitions_keep_the_tallies_equal_to_a_recount(world):
    start = utcnow() - timedelta(days=45)
    draft = applications.start_application(world.applicant_b, world.call.id)
    kept_equals_recount()
    complete_application(db.session.get(Case, draft.id))
    db.session.commit()
    cases.fire(draft.id, "submit", world.applicant_b)
    kept_equals_recount()
    cases.fire(draft.id, "declare_ineligible", world.coordinator, {"reason": "Too small"})
    key, n = case_tally(draft.id)
    assert (key[7], n) == ("declare_ineligible", 1)
    # A pairing moves the case to its partner's region and counts its topics there; the
    # cooperation adds deliverables by due day; a hand-in moves one to "on time".
    case = cooperating(world, start)
    kept_equals_recount()
    stored = tallies.stored(db.session)
    assert sum(n for k, n in stored.items() if k[0] == "topic") == len(case.topics) > 0
    assert sum(n for k, n in stored.items() if k[0] == "deliverable" and k[9] == "awaited") > 0
    found = by_kind(case.id)
    cooperation.submit_deliverable(case.id, found["work_plan", 1].id, world.partner,
                                   note="Plan",
                                   now=found["work_plan", 1].due_at - timedelta(days=2))
    report = found["progress_report", 1]
    hand_in_report(case, report, world.applicant_a, report.due_at - timedelta(days=1))
    kept_equals_recount()
    assert sum(n for k, n in tallies.stored(db.session).items() if k[9] == "on_time") == 2
    # Merging a topic moves the paired case's topic tally with it.
    vocabulary.merge_topics(world.admin, "smart-city", "urban-mobility")
    kept_equals_recount()
    # The cooperation ends: its deadlines close, so its awaited deliverables leave the tallies.
    cases.fire(case.id, "terminate", world.coordinator, {"reason": "The partner left."})
    kept_equals_recount()
    assert not any(k[9] == "awaited" for k in tallies.stored(db.session))


def test_check_finds_injected_drift_and_fix_repairs_it(world, app, monkeypatch):
    case = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, case.id))
    db.session.commit()
    cases.fire(case.id, "submit", world.applicant_a)
    kept_equals_recount()
    state = db.session.get(Case, case.id).state
    # A write that bypassed the operations: one tally off by two.
    with db.transaction() as session:
        changed = session.execute(update(Tally).where(Tally.kind == "case", Tally.state == state)
                                  .values(n=Tally.n + 2)).rowcount
    assert changed == 1
    from webapp.cli import main

    monkeypatch.setattr("webapp.cli._app", lambda: app)
    found = CliRunner().invoke(main, ["tallies", "check"])
    assert found.exit_code == 1, found.output
    assert "drift:" in found.output and f"state={state}" in found.output
    assert "kept 3, counted 1" in found.output
    fixed = CliRunner().invoke(main, ["tallies", "check", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert "fixed: 1" in fixed.output
    again = CliRunner().invoke(main, ["tallies", "check"])
    assert again.exit_code == 0 and "ok: every tally matches" in again.output
    db.session.expire_all()
    assert db.session.scalar(select(Tally.n).where(Tally.kind == "case",
                                                   Tally.state == state)) == 1


def test_a_case_that_moves_twice_and_then_changes_otherwise_in_one_transaction(world):
    # A move alone is settled from one count after it; a later change in the same
    # transaction still finds what the case contributed before its first move.
    case = applications.start_application(world.applicant_b, world.call.id)
    complete_application(db.session.get(Case, case.id))
    db.session.commit()
    cases.fire(case.id, "submit", world.applicant_b)
    with db.transaction() as session:
        held = session.get(Case, case.id)
        held.state = "information_requested"
        session.flush()
        held.state = "eligibility_review"
        session.flush()
        held.state = "awaiting_pairing"
        session.flush()
        tallies.touch(session, iter([held.id]))
        held.partner_region = "Asia"
    kept_equals_recount()
    key, n = case_tally(case.id)
    assert (key[4], key[2], n) == ("awaiting_pairing", "Asia", 1)
