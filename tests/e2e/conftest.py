"""The app served for real on loopback, with a Celery worker process, a Redis broker and an SMTP
server, driven by Debian's Chromium through Playwright; every page visited is checked with
axe-core and photographed."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_faults import (
    SHARED_REDIS,
    RedisServer,
    Worker,
    reachable,
    wait_for,
)
from tests.smtp_server import MailServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CITYPAIR_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("CITYPAIR_ARTEFACTS") or Path(__file__).parent / "artifacts")
REQUIRE = os.environ.get("CITYPAIR_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
#: the flags the machine's Chromium needs to run headless without a sandbox or network chatter
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
#: how the browser reports a form sent back with its errors, which is no fault
FORM_REFUSED = "the server responded with a status of 400 (BAD REQUEST)"


def _missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required here but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def chromium():
    """Playwright's Chromium, launched from the system's binary (never a downloaded one)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python")
    if not CHROMIUM.exists():
        _missing(f"Chromium at {CHROMIUM}")
    if not AXE.exists():
        _missing("axe-core (npm ci)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def e2e_relay() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def e2e_broker(tmp_path_factory) -> Iterator[str]:
    """Our own redis-server on a spare port when installed, else the shared one."""
    server = RedisServer(tmp_path_factory.mktemp("e2e-redis"))
    if server.binary:
        server.start()
        yield server.url
        server.stop()
        return
    if not reachable(SHARED_REDIS):
        _missing(f"redis-server or Redis at {SHARED_REDIS}")
    yield SHARED_REDIS


class Live:
    """The served app: its address, the mail that arrived, the worker's log."""

    def __init__(self, url: str, mail: MailServer, worker_log: Path):
        self.url = url
        self.mail = mail
        self.worker_log = worker_log

    def mail_to(self, address: str, subject_has: str = "", seconds: float = 30):
        """The newest message to ``address`` (waiting for the worker to send it)."""
        found: list = []

        def arrived() -> bool:
            with self.mail.recorder.lock:
                found[:] = [m for m in self.mail.recorder.messages
                            if address.lower() in str(m["To"]).lower()
                            and subject_has.lower() in str(m["Subject"]).lower()]
            return bool(found)

        try:
            wait_for(arrived, seconds, f"a message to {address} ({subject_has!r})")
        except AssertionError:
            with self.mail.recorder.lock:
                got = [(str(m["To"]), str(m["Subject"])) for m in self.mail.recorder.messages]
            raise AssertionError(f"no mail to {address} ({subject_has!r}); arrived: {got}; "
                                 "worker log:\n" + self.worker_log.read_text()[-3000:]) from None
        return found[-1]

    @staticmethod
    def text_of(message) -> str:
        part = message.get_body(preferencelist=("plain", "html"))
        return part.get_content()

    def link_in(self, message, path_prefix: str) -> str:
        m = re.search(re.escape(self.url) + re.escape(path_prefix) + r"[^\s\"'<>]+",
                      self.text_of(message))
        assert m, f"no {path_prefix} link in:\n{self.text_of(message)}"
        return m.group(0)


@pytest.fixture
def live(app, pg_url, e2e_relay, e2e_broker, tmp_path, monkeypatch) -> Iterator[Live]:
    """The app on a real HTTP server on a free loopback port, with a ``citypair worker``
    process delivering its mail to the test SMTP server."""
    import redis
    from werkzeug.serving import make_server

    from tasks import bind_celery

    redis.Redis.from_url(e2e_broker).flushdb()
    e2e_relay.recorder.reset()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setitem(app.config, "BASE_URL", url)
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", e2e_broker)
    bind_celery(app)
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "SMTP_HOST"}}
    env.update(DATABASE_URL=pg_url, CELERY_BROKER_URL=e2e_broker, SMTP_HOST="127.0.0.1",
               SMTP_PORT=str(e2e_relay.port), SMTP_TIMEOUT="5", SECRET_KEY="test-secret",
               CITYPAIR_ENV="development",
               BASE_URL=url, CITYPAIR_INSTANCE=str(tmp_path / "worker"),
               UPLOAD_DIR=app.config["UPLOAD_DIR"], DELIVERY_BACKOFF_SECONDS="1",
               RATELIMIT_ENABLED="0")
    log = tmp_path / "worker.log"
    worker = Worker(env, log)
    worker.start()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-web", daemon=True)
    thread.start()
    try:
        yield Live(url, e2e_relay, log)
    finally:
        server.shutdown()
        thread.join(10)
        worker.stop()
        monkeypatch.undo()
        bind_celery(app)


class Pages:
    """Opens browser contexts (one per person) and, on every page visited, saves a screenshot
    and runs axe-core; serious and critical WCAG 2.1 A/AA violations are gathered."""

    def __init__(self, browser, live: Live, folder: Path):
        self.browser = browser
        self.live = live
        self.folder = folder
        self.step = 0
        self.shots: list[str] = []
        self.violations: list[dict] = []
        self.checked: list[str] = []
        self.contexts: list = []
        #: every violation found, blocking or not, with the pages it was found on
        self.minor: dict[str, set[str]] = {}
        self.seconds = {"screenshots": 0.0, "axe": 0.0}
        #: errors the browser reported: scripts that failed, content the CSP refused
        self.console: list[str] = []
        self.axe_source = AXE.read_text() + "\n;0"

    def open(self, **options):
        """A new person at the keyboard: a context of their own (cookies, viewport)."""
        options.setdefault("viewport", {"width": 1280, "height": 900})
        # The pages' CSP stays in force: axe is evaluated through the debugging protocol,
        # which the CSP does not govern, and every CSP refusal is reported as an error.
        context = self.browser.new_context(base_url=self.live.url, **options)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: self.console.append(f"{page.url}: {m.text}")
                if m.type == "error" and not m.text.endswith(FORM_REFUSED) else None)
        page.on("pageerror", lambda e: self.console.append(f"{page.url}: {e}"))
        return page

    def check(self, page, label: str, *, axe: bool = True) -> None:
        """Screenshot the page as step ``label`` and check it with axe."""
        self.step += 1
        plain = unicodedata.normalize("NFKD", label.lower()).encode("ascii", "ignore").decode()
        name = f"{self.step:02d}-{re.sub(r'[^a-z0-9]+', '-', plain).strip('-')}.png"
        started = time.monotonic()
        page.screenshot(path=str(self.folder / name), full_page=True)
        self.shots.append(name)
        self.seconds["screenshots"] += time.monotonic() - started
        if axe:
            started = time.monotonic()
            self.axe(page, label)
            self.seconds["axe"] += time.monotonic() - started

    def axe(self, page, label: str) -> None:
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})", WCAG)
        self.checked.append(f"{label} ({page.url.removeprefix(self.live.url)})")
        for v in result["violations"]:
            self.minor.setdefault(f"{v['impact']}: {v['id']}", set()).add(label)
            if v["impact"] in BLOCKING:
                self.violations.append({
                    "page": label, "url": page.url.removeprefix(self.live.url), "id": v["id"],
                    "impact": v["impact"], "help": v["help"],
                    "nodes": [n["target"] for n in v["nodes"]][:5],
                    "summary": [n.get("failureSummary", "") for n in v["nodes"]][:2]})

    def report(self) -> str:
        lines = [f"{len(self.checked)} pages checked with axe-core ({', '.join(WCAG)}); "
                 f"{len(self.shots)} screenshots; "
                 + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())]
        lines += [f"  found ({len(where)} pages): {rule}"
                  for rule, where in sorted(self.minor.items())]
        lines += [f"  browser error: {e}" for e in self.console]
        lines += [f"  {v['impact']}: {v['id']} on {v['page']} {v['url']} — {v['help']} "
                  f"{v['nodes']}\n      {v['summary']}" for v in self.violations]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        """No serious or critical violation on any page, and no error in the browser."""
        assert not (self.violations or self.console), self.report()

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        (self.folder / "axe.json").write_text(json.dumps(
            {"checked": self.checked, "violations": self.violations,
             "all_rules_found": {k: sorted(v) for k, v in self.minor.items()}}, indent=2))


@pytest.fixture
def pages(request, chromium, live) -> Iterator[Pages]:
    folder = ARTEFACTS / request.node.name.split("[")[0]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    p = Pages(chromium, live, folder)
    yield p
    p.close()
    print(p.report())


