"""The back office at programme scale: the filtered, sorted case list (first and 400th page),
a case page and the dashboard, against bare SQL fetching the same rows."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg
from sqlalchemy import event

from bench.common import Result, analyze, make_app, p95, scaled, sql, submitted_world
from tests.factories import PASSWORD
from webapp.db import db, utcnow
from workflows import city_to_city
from workflows.engine import Purpose

#: requests per page and size; the p95 is taken over these
REPEAT = 15
#: the states around the eligibility check: the check, and where each of its outcomes leads
STATES = tuple(city_to_city.WORKFLOW.targets_of(p)[0] for p in (
    Purpose.PROVIDE_INFORMATION, Purpose.DECLARE_ELIGIBLE, Purpose.REQUEST_INFORMATION,
    Purpose.DECLARE_INELIGIBLE))
#: the eligibility decisions the dashboard counts, as a list in SQL
DECISIONS = ", ".join(f"'{city_to_city.WORKFLOW.name_for(p)}'" for p in (
    Purpose.DECLARE_ELIGIBLE, Purpose.DECLARE_INELIGIBLE))
#: cases whose history one transaction writes
CHAIN_BATCH = 2000
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def grow(url: str, template: int, upto: int) -> None:
    """Copies of the submitted case, each with a history of audit events, until ``upto``."""
    with psycopg.connect(url) as conn:
        have = conn.execute('SELECT count(*) FROM "case"').fetchone()[0]
    more = upto - have
    if more <= 0:
        return
    states = "ARRAY[" + ", ".join(f"'{s}'" for s in STATES) + "]"
    cols = [c for c in _cols(url, "case") if c != "id"]
    exprs = {"reference": f"'B-' || ({have} + g)", "state": f"({states})[1 + g % 4]",
             "updated_at": "t.updated_at - make_interval(mins => g)",
             "submitted_at": "t.submitted_at - make_interval(mins => g)"}
    values = ", ".join(exprs.get(c, f't."{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    sql(url, f'INSERT INTO "case" ({names}) SELECT {values} FROM "case" t, '
             f"generate_series(1, {more}) g WHERE t.id = {template}")
    with psycopg.connect(url) as conn:
        last = conn.execute('SELECT max(id) FROM "case"').fetchone()[0]
    # Five events of history per new case, as a busy case gathers them; a few thousand cases
    # a transaction, as the audit chain's trigger holds a lock per case until commit.
    for low in range(template + 1, last + 1, CHAIN_BATCH):
        sql(url,
            "INSERT INTO audit_event (case_id, at, actor_id, actor_role, actor_label, "
            "source_address, action, from_state, to_state, payload) "
            "SELECT c.id, c.updated_at - make_interval(days => k), NULL, 'coordinator', "
            "'Coord', '', 'comment', c.state, c.state, "
            "'{\"comment\": \"Looked at the file.\"}'::json "
            f'FROM "case" c, generate_series(1, 5) k WHERE c.id >= {low} '
            f"AND c.id < {low + CHAIN_BATCH} AND "
            "NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.case_id = c.id) "
            "ORDER BY c.id, k")
    analyze(url)
    # Rows written behind the operations' back: the tallies are recounted, as the migration
    # that introduced them counts the cases already there.
    from webapp.operations import tallies

    with db.transaction() as session:
        tallies.rebuild(session)


def _cols(url: str, table: str) -> list[str]:
    from bench.common import columns

    return columns(url, table)


def measure(client, pages: dict[str, str], counter: list[int]) -> tuple[dict, dict]:
    """p95 seconds and statements of each page."""
    times: dict[str, float] = {}
    statements: dict[str, int] = {}
    for name, path in pages.items():
        samples = []
        for _ in range(REPEAT):
            counter[0] = 0
            start = time.perf_counter()
            resp = client.get(path)
            samples.append(time.perf_counter() - start)
            assert resp.status_code == 200, (path, resp.status_code)
            statements[name] = counter[0]
        times[name] = p95(samples)
    return times, statements


def bare(url: str, call_id: int, case_id: int, page_400: int, viewer: int
         ) -> dict[str, float]:
    """The same rows by hand-written SQL over one connection."""
    listing = ('SELECT c.id, c.reference, c.state, c.updated_at, c.submitted_at, o.name, '
               'o.country, p.name FROM "case" c JOIN organisation o ON o.id = c.organisation_id '
               "LEFT JOIN partner_city p ON p.id = c.partner_city_id WHERE c.call_id = %s "
               "ORDER BY c.updated_at DESC, c.id DESC LIMIT 25 OFFSET %s")
    queries = {
        "list_p1": [('SELECT count(*) FROM "case" WHERE call_id = %s', (call_id,)),
                    (listing, (call_id, 0))],
        "list_p400": [('SELECT count(*) FROM "case" WHERE call_id = %s', (call_id,)),
                      (listing, (call_id, (page_400 - 1) * 25))],
        # The rows the case page shows: the viewer, the case with its organisation and call,
        # its topics, eligibility verdicts, group members, audit trail, e-mails, comments,
        # documents, activities, agreements and extension, and the staff it may be given to.
        "case": [('SELECT * FROM "user" WHERE id = %s', (viewer,)),
                 ('SELECT c.*, o.*, k.* FROM "case" c JOIN organisation o ON '
                  'o.id = c.organisation_id JOIN call k ON k.id = c.call_id WHERE c.id = %s',
                  (case_id,)),
                 *((f"SELECT * FROM {table} WHERE case_id = %s", (case_id,)) for table in (
                     "eligibility_result", "audit_event", "notification", "comment",
                     "document", "activity", "agreement")),
                 ("SELECT t.* FROM topic t JOIN case_topic ct ON ct.topic_slug = t.slug "
                  "WHERE ct.case_id = %s", (case_id,)),
                 ('SELECT g.* FROM group_member g JOIN "case" c ON '
                  "c.organisation_id = g.organisation_id WHERE c.id = %s", (case_id,)),
                 ('SELECT e.until FROM call_extension e JOIN "case" c ON c.call_id = e.call_id '
                  "AND c.organisation_id = e.organisation_id WHERE c.id = %s", (case_id,)),
                 ("SELECT * FROM \"user\" WHERE role IN ('coordinator', 'admin') "
                  "AND erased_at IS NULL ORDER BY name", None)],
        # The dashboard's aggregates: per call and state, latest decisions, pairings.
        "dashboard": [
            ('SELECT k.id, k.title, c.workflow, c.state, count(*) FROM "case" c JOIN call k '
             "ON k.id = c.call_id GROUP BY k.id, k.title, c.workflow, c.state", None),
            ("SELECT a.action, count(*) FROM audit_event a JOIN (SELECT max(id) AS id FROM "
             f"audit_event WHERE action IN ({DECISIONS}) "
             "GROUP BY case_id) l ON l.id = a.id GROUP BY a.action", None),
            ('SELECT p.region, count(*) FROM "case" c JOIN partner_city p ON '
             "p.id = c.partner_city_id GROUP BY p.region", None),
            ('SELECT ct.topic_slug, count(*) FROM "case" c JOIN case_topic ct ON '
             "ct.case_id = c.id WHERE c.partner_city_id IS NOT NULL GROUP BY ct.topic_slug",
             None)],
    }
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, steps in queries.items():
            samples = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                for q, params in steps:
                    conn.execute(q, params).fetchall()
                samples.append(time.perf_counter() - start)
            out[name] = p95(samples)
    return out


def run(scale: float, folder: Path) -> Result:
    from bench.common import scratch_database

    big, small = scaled(100_000, scale, least=60), scaled(10_000, scale, least=30)
    with scratch_database("backoffice") as url:
        app = make_app(url, folder)
        with app.app_context():
            world, template = submitted_world(utcnow())
            call_id, coordinator = world.call.id, world.coordinator.email
            viewer = world.coordinator.id
        counter = [0]

        def count(*_args):
            counter[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        client = app.test_client()
        login = client.get("/account/login").get_data(as_text=True)
        client.post("/account/login", data={"email": coordinator, "password": PASSWORD,
                                            "csrf_token": TOKEN.search(login).group(1)})
        figures: dict[str, object] = {}
        results = {}
        for size in (small, big):
            with app.app_context():
                grow(url, template, size)
            last = (size + 24) // 25
            pages = {"list_p1": f"/office/cases?call={call_id}&sort=updated&dir=desc",
                     "list_p400": f"/office/cases?call={call_id}&sort=updated&dir=desc"
                                  f"&page={min(400, last)}",
                     "case": f"/office/cases/{template}",
                     "dashboard": "/office/dashboard"}
            client.get(pages["list_p1"])  # warm the templates
            results[size] = measure(client, pages, counter)
        ours, statements = results[big]
        small_ours, small_statements = results[small]
        base = bare(url, call_id, template, min(400, (big + 24) // 25), viewer)
    ratios = {name: ours[name] / base[name] for name in ours}
    growth = max(ours[name] / small_ours[name] for name in ours)
    for name in ours:
        figures[f"{name}_p95_ms"] = round(ours[name] * 1000, 1)
        figures[f"{name}_bare_ms"] = round(base[name] * 1000, 2)
        figures[f"{name}_ratio"] = round(ratios[name], 2)
    figures["statements"] = ",".join(f"{k}:{v}" for k, v in statements.items())
    figures["statements_small"] = ",".join(f"{k}:{v}" for k, v in small_statements.items())
    figures["growth_100k_vs_10k"] = round(growth, 2)
    figures["growth_by_page"] = ",".join(f"{k}:{ours[k] / small_ours[k]:.2f}" for k in ours)
    figures["cases"] = big
    return Result("backoffice", max(ratios.values()), 3.0, "max", figures, checks={
        "statements_constant": statements == small_statements, "growth": growth <= 1.5})
