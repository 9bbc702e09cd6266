"""``make run`` mode end to end: SQLite, the filesystem broker and the mail sink, with the real
``citypair demo`` and ``citypair run`` processes. A submitted application's e-mail and a due
reminder both land in ``instance/mail``."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.smtp_server import free_port

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]

#: run inside the instance by a separate process, as a second user of the same SQLite file
SUBMIT_AND_HURRY = """
import json
from sqlalchemy import select
from webapp import create_app
from webapp.db import db, utcnow
from webapp.models import Call, Case, Reminder, User
from webapp.operations import applications, cases
from workflows import vocabulary

app = create_app()
with app.app_context():
    # Porto's (the demo's history answered an information request of its own long ago).
    reminder = db.session.scalar(select(Reminder).join(Case).join(
        User, User.organisation_id == Case.organisation_id).where(
        Reminder.template == "reminder_information_requested",
        User.email == "porto@citypair.demo"))
    planned = (reminder.scheduled_at - reminder.deadline.created_at).total_seconds()
    lyon = db.session.scalar(select(User).where(User.email == "lyon@citypair.demo"))
    call = db.session.scalar(select(Call).where(Call.slug == "city-to-city-demo"))
    case = applications.start_application(lyon, call.id)
    for section, data in (
        ("organisation", {"name": "Lyon", "kind": "city", "country": "France",
                          "population": 522000}),
        ("contact", {"contact_name": "Lea Martin", "contact_email": "lyon@citypair.demo"}),
        ("topics", {"topics": ["smart-city", "urban-mobility"],
                    "challenge_statement": "Lyon wants cleaner air and better transport "
                                           "planned with open data for every district."}),
        ("partnership", {"partner_region": "Asia", "stakeholders": "Metropole, university"}),
        ("resources", {"resources_committed": "Two officers at 30% for 18 months."}),
        ("commitments", {c.key: True for c in vocabulary("city-to-city").commitments}),
    ):
        applications.save_section(case.id, lyon, section, data)
    cases.fire(case.id, "submit", lyon)
    # The demo's reminder is due three minutes after loading; bring it forward to now.
    with db.transaction() as session:
        r = session.get(Reminder, reminder.id)
        if r.done_at is None:
            r.scheduled_at = utcnow()
    print(json.dumps({"planned_in": planned, "reference": db.session.get(
        type(case), case.id).reference}))
"""


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def instance(tmp_path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An empty instance folder and the environment of a fresh ``make run``."""
    folder = tmp_path / "instance"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SMTP_HOST",
                        "MAIL_SINK_DIR", "BASE_URL", "RATELIMIT_STORAGE_URI", "PORT"}}
    env.update(CITYPAIR_INSTANCE=str(folder), SWEEP_INTERVAL="2", SECRET_KEY="embedded-test")
    # The port is given on the command line only (PORT unset), as ``citypair run --port``.
    yield folder, {**env, "RUN_PORT": str(port)}


def sink_messages(folder: Path) -> list[EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((folder / "mail").glob("*.eml"))]


def wait_for_mail(folder: Path, to: str, subject: str, seconds: float) -> EmailMessage:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for msg in sink_messages(folder):
            if to in str(msg["To"]) and subject in str(msg["Subject"]):
                return msg
        time.sleep(0.5)
    seen = [(str(m["To"]), str(m["Subject"])) for m in sink_messages(folder)]
    raise AssertionError(f"no “{subject}” to {to} in the sink after {seconds}s; seen: {seen}")


def test_make_run_delivers_submissions_and_reminders_to_the_mail_sink(instance):
    folder, env = instance
    demo = subprocess.run([str(BIN / "citypair"), "demo"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "information requested from Porto" in demo.stdout
    assert "three minutes from now" in demo.stdout

    with (folder / "run.log").open("wb") as log:
        server = subprocess.Popen([str(BIN / "citypair"), "run", "--port", env["RUN_PORT"]],
                                  env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        health = None
        end = time.monotonic() + 120
        while time.monotonic() < end and health is None:
            assert server.poll() is None, (folder / "run.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{env['RUN_PORT']}/healthz", timeout=5) as resp:
                    health = json.loads(resp.read())
            except OSError:
                time.sleep(0.5)
        assert health and health["ok"] and health["database"]["dialect"] == "sqlite"

        # The demo's own mail was queued before the server ran: it goes out now, its link
        # pointing at the port the server was given.
        asked = wait_for_mail(folder, "porto@citypair.demo", "Information requested", 60)
        links = re.findall(r"http://[^\s\"<]+", asked.get_body(("plain",)).get_content())
        assert links and all(link.startswith(f"http://127.0.0.1:{env['RUN_PORT']}/")
                             for link in links), links

        script = subprocess.run([str(BIN / "python"), "-c", SUBMIT_AND_HURRY], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert script.returncode == 0, script.stderr[-3000:]
        result = json.loads(script.stdout.strip().splitlines()[-1])
        # The demo set the reminder three minutes after loading it.
        assert 170 <= result["planned_in"] <= 190

        submitted = wait_for_mail(folder, "lyon@citypair.demo", "Application received", 60)
        assert result["reference"] in str(submitted["Subject"])
        assert submitted["Message-ID"].endswith("@citypair.local>")
        reminder = wait_for_mail(folder, "porto@citypair.demo",
                                 "Reminder: please answer the information request", 60)
        assert reminder["Auto-Submitted"] == "auto-generated"
        assert any(p.get_content_type() == "text/calendar" for p in reminder.iter_attachments())
    finally:
        stop(server)


def test_the_embedded_broker_shows_a_message_to_workers_only_once_it_is_whole(tmp_path,
                                                                             monkeypatch):
    from kombu import Connection
    from kombu.transport import resolve_transport

    from tasks import file_broker

    folder = tmp_path / "broker"
    folder.mkdir()
    visible_while_writing: list[list[str]] = []
    real = file_broker.str_to_bytes

    def writing(text):
        # What a worker listing the folder at this moment could take.
        visible_while_writing.append([f for f in os.listdir(folder) if f.endswith(".msg")])
        return real(text)

    monkeypatch.setattr(file_broker, "str_to_bytes", writing)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "processed_folder": str(tmp_path), "store_processed": False,
               "control_folder": str(tmp_path / "control")}
    with Connection("filesystem://", transport_options=options) as connection:
        assert resolve_transport("filesystem") is file_broker.Transport
        channel = connection.default_channel
        channel._put("citypair", {"notification": 42})
        assert visible_while_writing == [[]]
        assert not [f for f in os.listdir(folder) if f.endswith(".part")]
        assert channel._get("citypair") == {"notification": 42}
