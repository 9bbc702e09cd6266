"""Applications submitted over HTTP by 50 clients at once to the production server (gunicorn
on PostgreSQL), each a full submit: CSRF, validation, the transition, audit and outbox.
Against the same gunicorn serving a bare Flask + SQLAlchemy endpoint that inserts one row."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench.common import (
    REDIS_URL,
    ROOT,
    Result,
    analyze,
    make_app,
    p95,
    scalar,
    scaled,
    sql,
    sqlalchemy_url,
)
from webapp.db import utcnow
from workflows import city_to_city
from workflows.engine import Purpose

CLIENTS = 50
WORKERS = 4  # as the production server is started (docker-compose.yml)
AGENT = "citypair-bench"
#: the submission every client sends, and the state a submitted application waits in
SUBMIT = city_to_city.WORKFLOW.name_for(Purpose.SUBMIT_APPLICATION)
SUBMITTED = city_to_city.WORKFLOW.targets_of(Purpose.SUBMIT_APPLICATION)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with sync workers on loopback, as production starts it."""

    def __init__(self, target: str, env: dict[str, str], log: Path):
        self.port = free_port()
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b",
             f"127.0.0.1:{self.port}", "--log-level", "warning", target],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz" if "webapp" in target else "/")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def prepare(url: str, app, n: int) -> list[tuple[int, str, str]]:
    """n applicants, each with an organisation and a complete draft; returns per draft its id,
    a signed-in session cookie and the CSRF token of its form."""
    from flask import g, session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from tests.factories import complete_application, make_world
    from webapp.models import User
    from webapp.operations import accounts, applications

    with app.app_context():
        world = make_world(now=utcnow())
        draft = applications.start_application(world.applicant_a, world.call.id)
        complete_application(draft)
        template_case, template_user, template_org = draft.id, world.applicant_a.id, \
            world.org_a.id
    with psycopg.connect(url) as conn:
        orgs = [r[0] for r in conn.execute(
            "INSERT INTO organisation (name, kind, country, population, website, created_at) "
            "SELECT 'Town ' || g, kind, country, population, website, now() FROM organisation, "
            "generate_series(1, %s) g WHERE id = %s RETURNING id", (n, template_org))]
        users = copy_rows(conn, "user", template_user, "unnest(%s::int[]) WITH ORDINALITY "
                          "o(id, n)", [orgs], email="'rush' || o.n || '@example.org'",
                          name="'Rush ' || o.n", organisation_id="o.id")
        drafts = copy_rows(conn, "case", template_case, "unnest(%s::int[], %s::int[]) WITH "
                           "ORDINALITY o(id, uid, n)", [orgs, users], reference="'R-' || o.n",
                           organisation_id="o.id", created_by_id="o.uid")
        conn.execute("INSERT INTO case_topic (case_id, topic_slug) SELECT d.id, ct.topic_slug "
                     "FROM case_topic ct, unnest(%s::int[]) d(id) WHERE ct.case_id = %s",
                     (drafts, template_case))
    analyze(url)
    signer = app.session_interface.get_signing_serializer(app)
    out = []
    with app.app_context():
        from webapp.db import db

        for user_id, case_id in zip(users, drafts, strict=True):
            env = {"REMOTE_ADDR": "127.0.0.1"}
            with app.test_request_context(headers={"User-Agent": AGENT}, environ_base=env):
                # One app context serves every draft: its g must not carry the last token.
                g.__dict__.clear()
                user = db.session.get(User, user_id)
                session[accounts.SESSION_KEY] = accounts.start_session(user)
                login_user(user)
                token = generate_csrf()
                out.append((case_id, signer.dumps(dict(session)), token))
            db.session.remove()
    return out


def copy_rows(conn, table: str, template: int, source: str, params: list, **exprs: str
              ) -> list[int]:
    """Copies of row ``template``, one per row of ``source`` (an unnest with ordinality o),
    in its order; ``exprs`` replace columns. Returns the new ids."""
    cols = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position", (table,)) if r[0] != "id"]
    values = ", ".join(exprs.get(c, f't."{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    return [r[0] for r in conn.execute(
        f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" t, {source} '
        f"WHERE t.id = %s ORDER BY o.n RETURNING id", (*params, template))]


def rush(port: int, requests: list[tuple[str, str, dict[str, str]]]) -> tuple[list[float], int]:
    """Send every request from CLIENTS threads at once; latencies and the count of errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    work = iter(requests)
    start_gate = threading.Barrier(CLIENTS)

    def client() -> None:
        start_gate.wait()
        while True:
            with lock:
                item = next(work, None)
            if item is None:
                return
            path, cookie, form = item
            body = urlencode(form)
            began = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("POST", path, body, {
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                    "User-Agent": AGENT})
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok = resp.status == 302
                if not ok and os.environ.get("BENCH_DEBUG"):
                    print(resp.status, resp.getheader("Location"), file=sys.stderr)
            except OSError:
                ok = False
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def run(scale: float, folder: Path) -> Result:
    from bench.common import scratch_database

    n = scaled(2000, scale, least=CLIENTS // 5)
    with scratch_database("rush") as url:
        app = make_app(url, folder, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_ENABLED=True)
        drafts = prepare(url, app, n)
        env = {"DATABASE_URL": sqlalchemy_url(url), "SECRET_KEY": app.config["SECRET_KEY"],
               "CITYPAIR_ENV": "development",
               "CITYPAIR_INSTANCE": str(folder), "REDIS_URL": REDIS_URL,
               "CELERY_BROKER_URL": REDIS_URL, "SMTP_HOST": "", "BASE_URL": "http://localhost"}
        requests = [(f"/my/cases/{case_id}/act/{SUBMIT}", f"session={cookie}",
                     {"csrf_token": token}) for case_id, cookie, token in drafts]
        server = Server("webapp:create_app()", env, folder / "gunicorn.log")
        try:
            start = time.perf_counter()
            latencies, errors = rush(server.port, requests)
            seconds = time.perf_counter() - start
        finally:
            server.stop()
        submitted = scalar(url, 'SELECT count(*) FROM "case" WHERE reference LIKE %s '
                                "AND state = %s AND submitted_at IS NOT NULL",
                           ("R-%", SUBMITTED))
        audited = scalar(url, "SELECT count(*) FROM audit_event WHERE action = %s", (SUBMIT,))
        queued = scalar(url, "SELECT count(*) FROM notification WHERE template = "
                             "'application_submitted'")

        sql(url, "CREATE TABLE bare_submission (id serial PRIMARY KEY, case_id int, "
                 "note text, at timestamptz DEFAULT now())")
        bare_server = Server("bench.bare_app:create_app()",
                             {"DATABASE_URL": sqlalchemy_url(url)}, folder / "bare.log")
        try:
            start = time.perf_counter()
            bare_latencies, bare_errors = rush(bare_server.port, [
                (f"/submit/{case_id}", "", {"note": "x"}) for case_id, _c, _t in drafts])
            bare_seconds = time.perf_counter() - start
        finally:
            bare_server.stop()
        bare_rows = scalar(url, "SELECT count(*) FROM bare_submission")
    rate, bare_rate = n / seconds, n / bare_seconds
    return Result("deadline_rush", rate / bare_rate, 0.5, "min", {
        "submissions": n, "clients": CLIENTS, "errors": errors, "lost": n - submitted,
        "audited": audited, "outbox": queued, "per_second": rate,
        "p95_ms": p95(latencies) * 1000, "bare_per_second": bare_rate,
        "bare_p95_ms": p95(bare_latencies) * 1000, "bare_errors": bare_errors,
        "bare_lost": n - bare_rows},
        checks={"errors": errors == 0 and bare_errors == 0, "lost": submitted == n,
                "audit": audited == n})
