"""The simulator runs a whole call, small, on SQLite and PostgreSQL: every case that was not
withdrawn completes, reminders go out, no e-mail is delivered twice, and a completed case's
history shows the system closing the cooperation and the coordinator approving the plan."""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from simulation import simulate
from tests.conftest import PG_ADMIN, REQUIRE, _pg_available
from webapp.cli import main
from webapp.models import AuditEvent, Case

pytestmark = pytest.mark.integration

LAST_LINE = re.compile(r"^completed=(\d+) reminders=(\d+) duplicates=(\d+)$")


def trail_of_a_completed_case(url: str, workflow: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            done = conn.scalar(select(Case.id).where(Case.workflow == workflow,
                                                     Case.state == "completed").limit(1))
            assert done is not None, workflow
            return [tuple(row) for row in conn.execute(
                select(AuditEvent.action, AuditEvent.actor_role).where(
                    AuditEvent.case_id == done).order_by(AuditEvent.at, AuditEvent.id))]
    finally:
        engine.dispose()


def assert_history(url: str) -> None:
    """A completed case went through the closing (by the system) and the plan's approval; a
    region's went through scoring and its roadmap."""
    trail = trail_of_a_completed_case(url, "city-to-city")
    actions = [action for action, _ in trail]
    for step in ("submit", "declare_eligible", "propose_pairing", "accept_pairing", "sign",
                 "deliverable_submitted", "close_cooperation", "submit_lap", "approve_lap"):
        assert step in actions, step
    assert actions.index("sign") < actions.index("close_cooperation") \
        < actions.index("submit_lap") < actions.index("approve_lap")
    assert ("close_cooperation", "system") in trail
    assert "approve_lap" in actions[-3:]
    regional = [action for action, _ in trail_of_a_completed_case(url, "region-to-region")]
    for step in ("scores_saved", "select", "sign", "close_cooperation", "submit_roadmap",
                 "approve_roadmap"):
        assert step in regional, step


def test_the_command_runs_a_call_on_sqlite_and_ends_with_the_summary_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'simulation.sqlite'}"
    result = CliRunner().invoke(main, ["simulate", "--cases", "6", "--months", "20",
                                       "--seed", "3", "--database-url", url])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, lines[-1]
    completed, reminders, duplicates = map(int, match.groups())
    withdrawn = sum(int(m.group(1)) for line in lines
                    if (m := re.match(r"^  [a-z-]+ withdrawn: (\d+)$", line)))
    assert any(re.match(r"^  city-to-city completed: \d+$", line) for line in lines)
    assert completed == 6 - withdrawn and completed >= 4
    assert reminders > 0 and duplicates == 0
    assert not [line for line in lines if line.startswith("refused:")]
    assert_history(url)


@pytest.fixture
def empty_pg_database():
    if not _pg_available():
        if REQUIRE:
            pytest.fail("PostgreSQL is required (CI) but not reachable at 127.0.0.1:5432")
        pytest.skip("PostgreSQL not reachable")
    name = f"citypair_sim_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_a_simulated_call_on_postgresql_completes_with_late_deliverables_and_no_duplicates(
        empty_pg_database):
    summary = simulate(6, 20, seed=1, database_url=empty_pg_database)
    withdrawn = summary.count("withdrawn")
    assert summary.completed == 6 - withdrawn and summary.completed >= 4
    assert {key.split()[-1] for key in summary.states} <= {"completed", "withdrawn"}
    assert summary.states["region-to-region completed"] == 1
    assert summary.duplicates == 0 and summary.reminders > 0
    # The scripts of this seed hand some deliverables in late and send some back.
    assert summary.late > 0 and summary.on_time > summary.late and summary.revisions > 0
    assert summary.delivered > summary.reminders
    assert summary.refused == []
    assert_history(empty_pg_database)


def test_the_app_reads_a_virtual_clock_while_one_is_set():
    from datetime import UTC, datetime

    from webapp.db import use_clock, utcnow

    moment = datetime(2031, 5, 4, 3, 2, tzinfo=UTC)
    use_clock(lambda: moment)
    try:
        assert utcnow() == moment
    finally:
        use_clock(None)
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 5


def test_a_database_with_cases_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'used.sqlite'}"
    first = CliRunner().invoke(main, ["simulate", "--cases", "1", "--months", "1",
                                      "--database-url", url])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, ["simulate", "--cases", "1", "--months", "1",
                                      "--database-url", url])
    assert again.exit_code == 2 and "needs an empty database" in again.output


#: every kind of e-mail that starts a deadline, reminds of one or reports one missed
DEADLINE_MAIL = {
    "reminder_call_closing", "extension_granted",
    "information_requested", "reminder_information_requested",
    "pairing_proposed", "reminder_pairing_proposed", "escalation_pairing",
    "agreement_to_sign", "reminder_agreement", "escalation_agreement",
    "reminder_deliverable", "escalation_deliverable", "deliverable_revision_requested",
    "lap_revision_requested",
}


def test_every_deadline_mail_of_a_simulated_call_carries_its_calendar_event(tmp_path):
    from icalendar import Calendar

    summary = simulate(6, 20, seed=4, database_url=f"sqlite:///{tmp_path / 'sim.sqlite'}")
    assert summary.refused == []
    deadline_mail = [m for m in summary.mail if m.template in DEADLINE_MAIL]
    # The scripts of this seed meet every kind of deadline a city is given.
    assert {"reminder_call_closing", "extension_granted", "information_requested",
            "reminder_information_requested", "pairing_proposed", "reminder_pairing_proposed",
            "agreement_to_sign", "reminder_agreement", "reminder_deliverable",
            "deliverable_revision_requested", "lap_revision_requested"} \
        <= {m.template for m in deadline_mail}
    events: dict[str, list[tuple[str, int, object]]] = {}
    for m in deadline_mail:
        assert m.deadline_id and m.calendar, (m.template, m.notification_id)
        [event] = Calendar.from_ical(m.calendar).walk("VEVENT")
        events.setdefault(str(event["UID"]), []).append(
            (m.template, int(event["SEQUENCE"]), event.decoded("DTSTART")))
    # In the order they were sent, each UID's sequence never falls and grows whenever the
    # date moved: a calendar replaces the event instead of keeping two.
    moved = set()
    for uid, seen in events.items():
        for (_, seq_a, start_a), (_, seq_b, start_b) in zip(seen, seen[1:], strict=False):
            assert seq_b >= seq_a, (uid, seen)
            if start_b != start_a:
                assert seq_b > seq_a, (uid, seen)
                moved.add(uid)
    assert moved
    # The extension moved the call-closing event its applicant already had.
    [extension] = [uid for uid, seen in events.items()
                   if any(t == "extension_granted" for t, *_ in seen)]
    seen = events[extension]
    before = [s for s in seen if s[0] == "reminder_call_closing"]
    after = [s for s in seen if s[0] == "extension_granted"]
    assert before and after[0][1] > before[-1][1] and after[0][2] > before[-1][2]
    assert any(line.startswith("e-mails announcing a deadline: ") for line in summary.lines())
