"""The reminder sweep with a million reminders scheduled and ten thousand due, against one raw
SELECT ... FOR UPDATE SKIP LOCKED plus INSERT ... SELECT of the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from bench.common import (
    ROOT,
    Clock,
    Result,
    analyze,
    clone,
    make_app,
    scalar,
    scaled,
    sql,
    sqlalchemy_url,
    submitted_world,
)
from webapp.db import utcnow

#: cases the reminders belong to (each with one deadline)
CASES = 1000

#: the sweep as a worker runs it: a process of its own, whose peak memory is measured
WORKER = """
import json, resource, sys, time
from webapp import create_app
from webapp.db import db
from webapp.mail import outbox
from webapp.operations import reminders
app = create_app({"DATABASE_URL": sys.argv[1], "INSTANCE_DIR": sys.argv[2],
                  "SECRET_KEY": "bench-secret", "RATELIMIT_ENABLED": False})
db.configure(app.config["DATABASE_URL"])
# Handing ids to a broker is the delivery's cost, not the sweep's.
outbox.set_dispatcher(lambda ids: None)
with app.app_context():
    start = time.perf_counter()
    report = reminders.sweep()
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "report": report.as_dict(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def schedule(url: str, first: int, count: int, due: int, cases: list[int]) -> None:
    """Reminders ``first`` .. ``first + count - 1``; the first ``due`` of them fall due now."""
    sql(url,
        "INSERT INTO reminder (deadline_id, case_id, offset_minutes, scheduled_at, recipients, "
        "template, unless_done_by, done_at, outcome) "
        "SELECT d.id, d.case_id, -g, CASE WHEN g < %(first)s::int + %(due)s::int "
        "THEN now() - make_interval(secs => g %% 3600) "
        "ELSE now() + make_interval(mins => 10 + g %% 500000) END, "
        "'[\"applicant\"]'::json, 'reminder_information_requested', NULL, NULL, '' "
        "FROM generate_series(%(first)s::int, %(last)s::int) g "
        "JOIN deadline d ON d.case_id = %(low)s::int + g %% %(n)s::int",
        params={"first": first, "due": due, "last": first + count - 1, "low": cases[0],
                "n": len(cases)})


def reset(url: str) -> None:
    """Undo a sweep: the due reminders pending again, their notifications gone."""
    sql(url, "DELETE FROM notification WHERE idempotency_key LIKE 'reminder:%%'",
        "UPDATE reminder SET done_at = NULL, outcome = '' WHERE done_at IS NOT NULL")
    analyze(url)


def sweep_in_worker(url: str, folder: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", WORKER, sqlalchemy_url(url), str(folder)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bare(url: str, due: int) -> float:
    with psycopg.connect(url) as conn, Clock() as clock:
        conn.execute(
            "WITH due AS (SELECT r.id, r.case_id, r.deadline_id, r.offset_minutes, r.template "
            "FROM reminder r WHERE r.done_at IS NULL AND r.scheduled_at <= now() "
            "ORDER BY r.scheduled_at LIMIT %(due)s FOR UPDATE SKIP LOCKED) "
            "INSERT INTO notification (idempotency_key, case_id, user_id, to_email, to_name, "
            "template, optional, context, locale, timezone, deadline_id, status, attempts, "
            "last_error, created_at) "
            "SELECT 'bare:' || due.id, due.case_id, u.id, u.email, u.name, due.template, false, "
            "'{}'::json, 'en', 'Europe/Brussels', due.deadline_id, 'pending', 0, '', now() "
            'FROM due JOIN "case" c ON c.id = due.case_id JOIN "user" u '
            "ON u.organisation_id = c.organisation_id AND u.role = 'applicant'",
            {"due": due})
        conn.commit()
    return clock.seconds


def run(scale: float, folder: Path) -> Result:
    from bench.common import scratch_database

    total, small, due = (scaled(1_000_000, scale, least=200), scaled(100_000, scale, least=40),
                         scaled(10_000, scale, least=10))
    n_cases = min(CASES, due)
    with scratch_database("sweep") as url:
        app = make_app(url, folder)
        with app.app_context():
            _world, template = submitted_world(utcnow())
        clone(url, "case", f"t.id = {template}", n_cases - 1, reference="'S-' || g")
        sql(url, "DELETE FROM reminder", "DELETE FROM deadline",
            "INSERT INTO deadline (case_id, kind, label, due_at, timezone, status, state, "
            "created_at) SELECT id, 'information_response', 'Answer', now() + interval '30 days',"
            " 'Europe/Brussels', 'open', state, now() FROM \"case\"")
        cases = sorted(r[0] for r in psycopg.connect(url).execute('SELECT id FROM "case"'))
        with Clock() as load:
            schedule(url, 0, small, due, cases)
            analyze(url)
        at_small = sweep_in_worker(url, folder)
        reset(url)
        with Clock() as load_more:
            schedule(url, small, total - small, 0, cases)
            analyze(url)
        at_total = sweep_in_worker(url, folder)
        written = scalar(url, "SELECT count(*) FROM notification WHERE idempotency_key LIKE "
                              "'reminder:%%'")
        reset(url)
        base = bare(url, due)
        base_written = scalar(url, "SELECT count(*) FROM notification WHERE idempotency_key "
                                   "LIKE 'bare:%%'")
    growth = at_total["seconds"] / at_small["seconds"]
    rss = max(at_small["rss_mb"], at_total["rss_mb"])
    return Result("sweep", at_total["seconds"] / base, 3.0, "max", {
        "scheduled": total, "due": due, "notifications": written, "lost": due - written,
        "seconds": at_total["seconds"], "bare_seconds": base, "bare_rows": base_written,
        "seconds_at_small": at_small["seconds"], "small": small,
        "growth": growth, "worker_peak_rss_mb": rss,
        "load_seconds": load.seconds + load_more.seconds},
        checks={"lost": written == due, "rss": rss <= 300, "growth": growth <= 1.5})
