"""Nothing lost, nothing sent twice, with the real parts: PostgreSQL, a Redis broker, a Celery
worker process and an SMTP server, while the worker is killed, Redis restarts, the relay refuses,
is down for longer than several retries or answers late, the worker's database connections are
dropped, and two sweeps run at once.

Each scenario makes 500 reminders due for 500 people, sweeps in this process (which hands the
notifications to Redis) and keeps sweeping, as beat would, until every notification is sent or
failed. The worker is a separate process that builds its own app from the environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import func, select

from tests.factories import PASSWORD, password_hash
from tests.smtp_server import MailServer, free_port
from webapp.db import db, utcnow
from webapp.models import (
    Case,
    Deadline,
    Notification,
    NotificationStatus,
    Organisation,
    Reminder,
    User,
    UserRole,
)
from webapp.operations import reminders

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REQUIRE = os.environ.get("CITYPAIR_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
SHARED_REDIS = os.environ.get("CITYPAIR_TEST_REDIS", "redis://127.0.0.1:6379/9")
CITYPAIR = Path(sys.executable).parent / "citypair"
COUNT = 500
CONCURRENCY = 2
#: the sweeps and claims in this test treat a row as stuck after this many seconds
GRACE = 4
#: the worker's name at the database, so that a test can drop its connections and no others
WORKER_APP = "citypair-fault-worker"
#: the retry schedule here: the shape of the real one (doubling, capped, within a window) in
#: seconds instead of minutes
BACKOFF = {"DELIVERY_BACKOFF_SECONDS": 1.0, "DELIVERY_BACKOFF_MAX_SECONDS": 4.0,
           "DELIVERY_RETRY_FOR_SECONDS": 600.0, "DELIVERY_MAX_ATTEMPTS": 60}


def missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required here but not available")
    pytest.skip(f"{what} not available")


def reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


class RedisServer:
    """Our own redis-server on a spare port, without persistence, so it can be restarted
    without disturbing anything else on the machine."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: reachable(self.url), 10, "redis-server to start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Worker:
    """``citypair worker`` as a process of its own, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(CITYPAIR), "worker", "--concurrency", str(CONCURRENCY)], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, like a crash."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        self.kills += 1

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def relay() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_server(relay) -> MailServer:
    """The module's SMTP server, running, accepting everything, with nothing recorded yet."""
    if not relay.running:
        relay.start()
    relay.recorder.reset()
    return relay


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    if not server.binary:
        missing("redis-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory) -> Iterator[str]:
    """A Redis of our own on a spare port when redis-server is installed, so that another test
    run on the same machine never takes our messages; else the shared one."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    if server.binary:
        server.start()
        yield server.url
        server.stop()
        return
    if not reachable(SHARED_REDIS):
        missing(f"redis-server or Redis at {SHARED_REDIS}")
    yield SHARED_REDIS


@pytest.fixture
def broker(module_broker) -> str:
    """The module's Redis, emptied."""
    redis.Redis.from_url(module_broker).flushdb()
    return module_broker


class Workers:
    """Worker processes by broker, kept for the module: starting one takes seconds."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = env
        self.log = log
        self.running: dict[str, Worker] = {}

    def serving(self, broker: str, settings: dict[str, object]) -> Worker:
        if broker not in self.running:
            env = {**self.env, **{k: str(v) for k, v in settings.items()}}
            worker = Worker({**env, "CELERY_BROKER_URL": broker}, self.log)
            worker.start()
            self.running[broker] = worker
        return self.running[broker]

    def stop(self, broker: str) -> None:
        worker = self.running.pop(broker, None)
        if worker is not None:
            worker.stop()


@pytest.fixture(scope="module")
def workers(pg_url, relay, tmp_path_factory) -> Iterator[Workers]:
    folder = tmp_path_factory.mktemp("worker")
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "SMTP_HOST"}}
    env.update(DATABASE_URL=f"{pg_url}?application_name={WORKER_APP}", SMTP_HOST="127.0.0.1",
               SMTP_PORT=str(relay.port), SMTP_TIMEOUT="5", SECRET_KEY="test-secret",
               CITYPAIR_ENV="development", BASE_URL="http://localhost",
               CITYPAIR_INSTANCE=str(folder / "instance"), RATELIMIT_ENABLED="0")
    pool = Workers(env, folder / "worker.log")
    yield pool
    for broker in list(pool.running):
        pool.stop(broker)


@pytest.fixture
def rig(app, module_broker, workers, monkeypatch):
    """Points this process's sweep at a broker and makes sure a worker serves that broker,
    both with the same settings (the module's, and any given: give them only with a broker of
    the test's own, as the module's worker keeps its settings)."""
    from tasks import bind_celery

    used: list[str] = []

    def start(broker: str, **given: object) -> Worker:
        settings = {"SENDING_TIMEOUT_SECONDS": GRACE, "STALE_PENDING_SECONDS": GRACE,
                    **BACKOFF, **given}
        for key, value in {"CELERY_BROKER_URL": broker, **settings}.items():
            monkeypatch.setitem(app.config, key, value)
        bind_celery(app)
        used.append(broker)
        return workers.serving(broker, settings)

    yield start
    # A worker of a broker that goes away with its test goes with it.
    for broker in used:
        if broker != module_broker:
            workers.stop(broker)
    monkeypatch.undo()
    bind_celery(app)


def make_due_reminders(world, count: int = COUNT) -> list[str]:
    """``count`` cases, each with one applicant and one reminder due now; their e-mails."""
    now = utcnow()
    s = db.session
    orgs = [Organisation(name=f"Fault city {i}", kind="city", country="FR",
                         population=150_000 + i) for i in range(count)]
    s.add_all(orgs)
    s.flush()
    users = [User(email=f"city{i}@faults.test", name=f"Officer {i}", role=UserRole.APPLICANT,
                  password_hash=password_hash(), confirmed_at=now, organisation_id=o.id)
             for i, o in enumerate(orgs)]
    cases = [Case(call_id=world.call.id, organisation_id=o.id, workflow="city-to-city",
                  state="information_requested", reference=f"IUC-F-{i:04d}",
                  partner_region="Latin America and the Caribbean")
             for i, o in enumerate(orgs)]
    s.add_all(users + cases)
    s.flush()
    for case in cases:
        d = Deadline(case_id=case.id, kind="information_response",
                     label="Answer the information request", due_at=now + timedelta(days=3),
                     state="information_requested")
        d.reminders.append(Reminder(case_id=case.id, offset_minutes=-3 * 24 * 60,
                                    scheduled_at=now - timedelta(minutes=1),
                                    recipients=["applicant"],
                                    template="reminder_information_requested"))
        s.add(d)
    s.commit()
    return [u.email for u in users]


def count(*where) -> int:
    """Notifications matching ``where``, as committed right now."""
    db.session.rollback()
    n = db.session.scalar(select(func.count(Notification.id)).where(*where)) or 0
    db.session.rollback()
    return n


def statuses() -> dict[str, int]:
    db.session.rollback()
    rows = db.session.execute(select(Notification.status, func.count())
                              .group_by(Notification.status)).all()
    db.session.rollback()
    return dict(rows)


def sweep_until_settled(seconds: float = 240, while_waiting: Callable[[], None] | None = None
                        ) -> dict[str, int]:
    """Sweep every second, as beat would, until no notification is pending or sending."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if while_waiting:
            while_waiting()
        reminders.sweep()
        counts = statuses()
        if sum(counts.values()) >= COUNT and not (counts.get("pending") or counts.get("sending")):
            return counts
        time.sleep(1)
    raise AssertionError(f"not settled after {seconds}s: {statuses()}")


def tally(server: MailServer) -> tuple[int, int, int]:
    """(delivered, duplicates, failed), printed for the log."""
    copies = server.recorder.ids()
    delivered = len(copies)
    duplicates = sum(n - 1 for n in copies.values())
    failed = statuses().get(NotificationStatus.FAILED, 0)
    print(f"delivered={delivered} duplicates={duplicates} failed={failed}")
    # Every notification the database calls sent was received, and nothing else was.
    sent_ids = {str(i) for i in db.session.scalars(
        select(Notification.id).where(Notification.status == NotificationStatus.SENT))}
    db.session.rollback()
    assert set(copies) == sent_ids
    return delivered, duplicates, failed


def test_worker_killed_mid_batch_loses_nothing(world, rig, broker, mail_server):
    make_due_reminders(world)
    worker = rig(broker)
    assert reminders.sweep().notifications == COUNT
    for threshold in (100, 300):
        wait_for(lambda t=threshold: len(mail_server.recorder.ids()) >= t, 180,
                 f"{threshold} mails before the kill")
        worker.kill()
        time.sleep(1)
        worker.start()
    sweep_until_settled()
    delivered, duplicates, failed = tally(mail_server)
    assert (delivered, failed) == (COUNT, 0)
    # Only a mail the relay accepted just before a child died can come twice.
    assert duplicates <= worker.kills * CONCURRENCY


def test_redis_restarted_mid_batch_loses_nothing(world, rig, own_redis, mail_server):
    make_due_reminders(world)
    rig(own_redis.url)
    assert reminders.sweep().notifications == COUNT
    wait_for(lambda: len(mail_server.recorder.ids()) >= 100, 180,
             "100 mails before the restart")
    own_redis.stop()  # every queued message is gone: Redis keeps nothing on disk here
    time.sleep(2)
    own_redis.start()
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)


def test_relay_answering_451_for_a_while_delivers_everything_later(world, rig, broker,
                                                                    mail_server):
    make_due_reminders(world)
    mail_server.recorder.answer = "451 4.7.1 Greylisted, please try again later"
    rig(broker)
    reminders.sweep()
    wait_for(lambda: count(Notification.last_error.like("451%")) >= 20, 60, "refusals (451)")
    assert mail_server.recorder.ids() == {}
    mail_server.recorder.answer = "accept"
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)
    assert db.session.scalar(select(func.max(Notification.attempts))) >= 2


def test_relay_down_for_a_while_delivers_everything_later(world, rig, broker,
                                                          mail_server):
    make_due_reminders(world)
    mail_server.stop()
    rig(broker)
    reminders.sweep()
    wait_for(lambda: count(Notification.last_error.like("%ConnectionRefused%")) >= 20,
             60, "failed connection attempts")
    mail_server.start()
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)


def most_attempts() -> int:
    db.session.rollback()
    most = db.session.scalar(select(func.max(Notification.attempts))) or 0
    db.session.rollback()
    return most


def test_relay_down_longer_than_several_retries_delivers_each_once(world, rig, broker,
                                                                    mail_server):
    make_due_reminders(world)
    mail_server.stop()
    rig(broker)
    reminders.sweep()
    # Down past the waits of 1, 2, 4, 4 ... seconds, with beat sweeping all along.
    started = time.monotonic()
    while most_attempts() < 5 or time.monotonic() - started < 20:
        assert time.monotonic() - started < 240, f"no fifth attempt: {statuses()}"
        reminders.sweep()
        time.sleep(1)
    down = time.monotonic() - started
    assert count(Notification.status == NotificationStatus.FAILED) == 0
    mail_server.start()
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)
    # Tried again and again, but never before a wait was over: the schedule allows three
    # tries in the first 7 s, then one each 4 s (and one more once the relay is back).
    assert most_attempts() <= 3 + (down - 7) / 4 + 2


def test_worker_database_connections_dropped_mid_batch_send_nothing_twice(world, rig, broker,
                                                                          mail_server,
                                                                          pg_url):
    make_due_reminders(world)
    drops: list[int] = []

    def drop_the_workers_connections(_msg) -> None:
        # Just after the relay took every hundredth message, before it answers.
        with mail_server.recorder.lock:
            taken = len(mail_server.recorder.messages)
        if taken % 100 == 0:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = %s", (WORKER_APP,))
            drops.append(taken)

    mail_server.recorder.on_accept = drop_the_workers_connections
    rig(broker)
    reminders.sweep()
    sweep_until_settled()
    assert drops == [100, 200, 300, 400, 500]
    assert tally(mail_server) == (COUNT, 0, 0)


def test_a_relay_answering_after_the_command_timeout_sends_nothing_twice(world, rig, own_redis,
                                                                         mail_server):
    emails = make_due_reminders(world)
    mail_server.recorder.slow |= set(emails[::25])
    mail_server.recorder.data_delay = 2.0
    # A worker of its own: commands time out after 1 s, the end of DATA may take its time, and
    # a claim lasts longer than the relay's slowest answer.
    rig(own_redis.url, SMTP_TIMEOUT=1.0, SENDING_TIMEOUT_SECONDS=30)
    reminders.sweep()
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)


def test_permanent_refusals_fail_and_show_in_the_outbox(world, rig, broker,
                                                         mail_server, make_browser):
    emails = make_due_reminders(world)
    refused = set(emails[::10])
    mail_server.recorder.refused |= refused
    rig(broker)
    reminders.sweep()
    counts = sweep_until_settled()
    assert counts == {"sent": COUNT - len(refused), "failed": len(refused)}
    assert tally(mail_server) == (COUNT - len(refused), 0, len(refused))
    failed = db.session.scalars(select(Notification).where(
        Notification.status == NotificationStatus.FAILED)).all()
    assert {n.to_email for n in failed} == refused
    assert all(n.attempts == 1 and "550" in n.last_error for n in failed)

    browser = make_browser()
    browser.login(world.coordinator.email, PASSWORD)
    page = browser.get("/office/outbox?status=failed")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and f"{len(refused)} e-mails" in body
    assert all(f'value="{n.id}"' in body for n in failed)
    assert "550" in body


def test_two_sweeps_at_once_send_nothing_twice(app, world, rig, broker, mail_server,
                                               monkeypatch):
    make_due_reminders(world)
    monkeypatch.setitem(app.config, "SWEEP_BATCH", 50)
    rig(broker)
    start = threading.Barrier(2)
    reports: list[reminders.SweepReport] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        with app.app_context():
            try:
                start.wait(10)
                reports.append(reminders.sweep())
            except BaseException as exc:  # reported to the test below
                errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.notifications for r in reports) == COUNT
    keys = db.session.scalar(select(func.count(func.distinct(Notification.idempotency_key))))
    assert db.session.scalar(select(func.count(Notification.id))) == keys == COUNT
    sweep_until_settled()
    assert tally(mail_server) == (COUNT, 0, 0)
