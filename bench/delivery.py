"""Notifications delivered by a real Celery worker (its default settings) to an SMTP server on
loopback, against a plain smtplib loop sending the same messages over one connection."""

from __future__ import annotations

import os
import smtplib
import subprocess
import time
from pathlib import Path

import psycopg
import redis

from bench.common import (
    REDIS_URL,
    ROOT,
    Clock,
    Result,
    make_app,
    scalar,
    scaled,
    sql,
    sqlalchemy_url,
    submitted_world,
)
from tests.smtp_server import MailServer
from webapp.db import utcnow

CITYPAIR = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "citypair"


def worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``citypair worker`` as production starts it; returns once it takes tasks."""
    out = log.open("ab")
    proc = subprocess.Popen([str(CITYPAIR), "worker"], env={**os.environ, **env}, cwd=ROOT,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if "ready." in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"worker did not start: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(10)


def run(scale: float, folder: Path) -> Result:
    from bench.common import scratch_database
    from tasks import enqueue_delivery

    n = scaled(5000, scale, least=10)
    relay = MailServer().start()
    redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        with scratch_database("delivery") as url:
            app = make_app(url, folder, SMTP_HOST="127.0.0.1", SMTP_PORT=relay.port)
            with app.app_context():
                submitted_world(utcnow())
            # Copies of the submission's notice, each to its own address.
            sql(url, "DELETE FROM notification WHERE template <> 'application_submitted'",
                ("INSERT INTO notification (idempotency_key, case_id, user_id, to_email, to_name, "
                "template, optional, context, locale, timezone, deadline_id, status, attempts, "
                "last_error, created_at) SELECT 'bench:' || g, case_id, user_id, "
                "'rcpt' || g || '@example.org', to_name, template, optional, context, locale, "
                "timezone, deadline_id, 'pending', 0, '', now() FROM notification, "
                "generate_series(1, %s) g WHERE template = 'application_submitted'", (n,)),
                "DELETE FROM notification WHERE idempotency_key NOT LIKE 'bench:%'")
            ids = [r[0] for r in psycopg.connect(url).execute(
                "SELECT id FROM notification ORDER BY id")]

            env = {"DATABASE_URL": sqlalchemy_url(url), "CELERY_BROKER_URL": REDIS_URL,
                   "REDIS_URL": REDIS_URL, "SMTP_HOST": "127.0.0.1",
                   "SMTP_PORT": str(relay.port), "SECRET_KEY": app.config["SECRET_KEY"],
                   "CITYPAIR_ENV": "development",
                   "CITYPAIR_INSTANCE": str(folder), "BASE_URL": "http://localhost"}
            proc = worker(env, folder / "worker.log")
            try:
                with Clock() as ours:
                    with app.app_context():
                        enqueue_delivery(ids)
                    deadline = time.monotonic() + 600
                    sent = 0
                    while time.monotonic() < deadline:
                        sent = scalar(url, "SELECT count(*) FROM notification "
                                           "WHERE status IN ('sent', 'failed')")
                        if sent >= n:
                            break
                        time.sleep(0.05)
            finally:
                stop(proc)
            sent = scalar(url, "SELECT count(*) FROM notification WHERE status = 'sent'")
            failed = scalar(url, "SELECT count(*) FROM notification WHERE status = 'failed'")
            copies = relay.recorder.ids()
            # The bare stack sends the very messages the worker sent, as the relay got them.
            with relay.recorder.lock:
                messages = list(relay.recorder.messages)
            with smtplib.SMTP("127.0.0.1", relay.port) as smtp, Clock() as bare:
                for m in messages:
                    smtp.send_message(m)
    finally:
        relay.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()
    arrived = len(copies)
    duplicates = sum(c - 1 for c in copies.values())
    rate, bare_rate = n / ours.seconds, n / bare.seconds
    return Result("delivery", rate / bare_rate, 0.5, "min", {
        "notifications": n, "sent": sent, "failed": failed, "lost": n - arrived,
        "duplicates": duplicates, "seconds": ours.seconds, "per_second": rate,
        "bare_seconds": bare.seconds, "bare_per_second": bare_rate},
        checks={"lost": arrived == n and sent == n, "failed": failed == 0,
                "duplicates": duplicates == 0})
