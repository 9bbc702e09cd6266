"""citypair's transitions against a system a programme could pick instead: pretalx's submission
state changes, installed in a virtual environment of its own, on the same PostgreSQL, timed in
the same run. The ratio is citypair's transitions per second over pretalx's changes per second.

What each side's change writes: a citypair transition ("request information", then its answer)
checks the role and the guard, writes the case's state, an audit event in the case's hash
chain, the answer's deadline and its reminders (closing them on the answer) and the outbox
notifications to the case's people; a pretalx change (accept, then reject) writes the
submission's state, its talk slot in the draft schedule, an activity-log entry and an
acceptance or rejection mail queued as a draft for the organisers to review and send. Neither
side delivers mail here. Each change is one transaction on both sides.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from bench import engine
from bench.common import ROOT, Result, scaled, scratch_database

#: a version that runs on Python 3.11 and PostgreSQL 15, pinned so every run measures the same
PRETALX = "pretalx[postgres]==2025.2.2"
VENV = ROOT / "bench" / ".peer" / "pretalx-venv"
SCRIPT = ROOT / "bench" / "pretalx_state_changes.py"
#: a fifth of the engine benchmark's count: the ratio is of rates, and both sides run here
TRANSITIONS = 2_000
#: changes on each case and each submission, as in the engine benchmark
PER_CASE = engine.PER_CASE
#: parity: a programme should not lose throughput by choosing citypair over the peer
TARGET = 1.0
#: the most any one step (the install, the migration, a timed half) may take
STEP_SECONDS = 1800


def venv_python() -> Path:
    """The peer environment's interpreter."""
    return VENV / "bin" / "python"


def installed() -> bool:
    """Whether the peer environment holds the pinned pretalx (its marker names the pin)."""
    marker = VENV / ".installed"
    try:
        return json.loads(marker.read_text())["requirement"] == PRETALX
    except (OSError, ValueError, KeyError):
        return False


def ensure_installed() -> tuple[float | None, str]:
    """Install the pinned pretalx into its own environment unless it is already there.

    Returns the seconds the install took (None when it was there already) and, when it failed,
    why, in one word for the result line.
    """
    if installed():
        return None, ""
    shutil.rmtree(VENV, ignore_errors=True)
    start = time.perf_counter()
    # venv makes the environment from the base interpreter, not nested in citypair's own.
    steps = (("venv-failed", [sys.executable, "-m", "venv", str(VENV)]),
             ("install-failed", [str(venv_python()), "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", PRETALX]))
    for reason, command in steps:
        if not _call(command, _clean_env())[1]:
            shutil.rmtree(VENV, ignore_errors=True)
            return None, reason
    seconds = time.perf_counter() - start
    (VENV / ".installed").write_text(json.dumps({"requirement": PRETALX, "seconds": seconds}))
    return seconds, ""


def _call(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[str, bool]:
    """Run a step of the peer's; its output, and whether it succeeded within its time."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=STEP_SECONDS)
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"{command[:3]} did not finish in {STEP_SECONDS} s\n")
        return "", False
    if proc.returncode:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
    return proc.stdout, proc.returncode == 0


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point the peer at citypair's packages."""
    return {k: v for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DJANGO_SETTINGS_MODULE")}


def run(scale: float, folder: Path) -> Result:
    """citypair's engine and its bare baseline, with pretalx timed around them, as one line."""
    total = scaled(TRANSITIONS, scale, least=PER_CASE * 2)
    submissions = total // PER_CASE
    install_seconds, reason = ensure_installed()
    halves: list[dict] = []
    with scratch_database("peer") as url:
        peer = Pretalx(url, folder / "pretalx")
        # pretalx's changes half before and half after citypair's, so that a load drifting
        # on this shared machine during the run weighs on both sides alike.
        reason = reason or peer.migrate()
        if not reason:
            first, reason = peer.time("before", submissions // 2)
            halves.append(first)
        (folder / "engine").mkdir()
        ours = engine.run(total / engine.TRANSITIONS, folder / "engine")
        if not reason:
            second, reason = peer.time("after", submissions - submissions // 2)
            halves.append(second)
    figures = {"transitions": ours.figures["transitions"], "errors": ours.figures["errors"],
               "lost": ours.figures["lost"], "per_second": ours.figures["per_second"],
               "bare_per_second": ours.figures["bare_per_second"]}
    if reason:
        return unmeasured(figures, reason)
    changes = sum(h["changes"] for h in halves)
    errors = sum(h["errors"] for h in halves)
    # Every change leaves one activity-log entry and one queued mail.
    lost = sum(2 * h["expected"] - h["activity_logs"] - h["queued_mails"] for h in halves)
    rate = changes / sum(h["seconds"] for h in halves)
    figures.update({
        "peer": f"pretalx-{halves[0]['version']}", "peer_changes": changes,
        "peer_errors": errors, "peer_lost": lost, "peer_per_second": rate,
        "peer_statements": "/".join(str(n) for n in halves[-1]["statements_per_change"]),
        "peer_mail_sent": sum(h["sent_mails"] for h in halves),
        "peer_install_seconds": "cached" if install_seconds is None else round(install_seconds),
        "load": round(os.getloadavg()[0], 1)})
    checks = {"errors": ours.figures["errors"] == 0 and errors == 0,
              "lost": ours.figures["lost"] == 0 and lost == 0}
    return Result("peer", ours.figures["per_second"] / rate, TARGET, "min", figures, checks)


def unmeasured(figures: dict, reason: str) -> Result:
    """The line of a run whose peer could not be measured, saying why in one word."""
    return Result("peer", math.nan, TARGET, "min", {**figures, "reason": reason})


class Pretalx:
    """pretalx on one scratch database: its configuration, its migration, its timed runs."""

    def __init__(self, url: str, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        conn = conninfo_to_dict(url)
        config = folder / "pretalx.cfg"
        config.write_text("\n".join([
            "[filesystem]", f"base = {folder}", f"data = {folder / 'data'}",
            "[site]", "secret = bench-secret", "[database]", "backend = postgresql",
            f"name = {conn['dbname']}", f"user = {conn.get('user', 'postgres')}",
            f"password = {conn.get('password', '')}", f"host = {conn.get('host', '127.0.0.1')}",
            f"port = {conn.get('port', '5432')}", ""]))
        # No Redis and no Celery broker: pretalx then caches nothing (no statement of a state
        # change reads its cache) and runs its tasks in the process, as its settings provide.
        self.env = {**_clean_env(), "PRETALX_CONFIG_FILE": str(config),
                    "DJANGO_SETTINGS_MODULE": "pretalx.settings"}

    def _call(self, *args: str) -> tuple[str, bool]:
        return _call([str(venv_python()), *args], self.env, self.folder)

    def migrate(self) -> str:
        """pretalx's schema on the scratch database; why not, in one word, when it fails."""
        return "" if self._call("-m", "pretalx", "migrate", "--no-input")[1] else "migrate-failed"

    def time(self, event: str, submissions: int) -> tuple[dict, str]:
        """One timed run on an event of its own; its JSON result, or why there is none."""
        out, ok = self._call(str(SCRIPT), "--event", event, "--submissions", str(submissions),
                             "--per-submission", str(PER_CASE))
        if not ok:
            return {}, "run-failed"
        try:
            return json.loads(out.strip().splitlines()[-1]), ""
        except (ValueError, IndexError):
            sys.stderr.write(out[-2000:])
            return {}, "no-result"
