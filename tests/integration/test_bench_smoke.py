"""Every benchmark runs end to end at a tiny scale: its line has the agreed form and its
correctness counters hold. No timing is asserted here; ``make bench`` measures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<name>\w+) ratio=(?P<ratio>[0-9.]+) target=(?:>=|<=)[0-9.]+ "
                  r"(?P<verdict>ok|MISS)(?P<figures>( \w+=\S+)*)$")
#: small enough to run in seconds, large enough to exercise every code path
SCALES = {"deadline_rush": 0.01, "backoffice": 0.001, "sweep": 0.0005, "delivery": 0.004,
          "pairing": 0.01, "engine": 0.004}

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def figures(line: str) -> dict[str, str]:
    m = LINE.match(line)
    assert m, f"not a benchmark line: {line!r}"
    return dict(pair.split("=", 1) for pair in m.group("figures").split())


@pytest.mark.parametrize("name", list(SCALES))
def test_benchmark_runs_and_loses_nothing(name, pg_url):
    proc = subprocess.run([sys.executable, "-m", "bench", name, "--scale", str(SCALES[name])],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("total seconds="), proc.stdout
    line = lines[0]
    assert line.startswith(f"{name} "), line
    found = figures(line)
    # Correctness counters must hold whatever the timing verdict.
    for counter in ("errors", "lost", "duplicates", "failed", "bare_errors", "bare_lost"):
        if counter in found:
            assert found[counter] == "0", line
    # A miss may be about time or memory, never about a lost or duplicated piece of work.
    missed = set(found.get("missed", "").split(","))
    assert not missed & {"errors", "lost", "audit", "failed", "duplicates", "pairs",
                         "statements_constant"}, line


def test_peer_benchmark_measures_pretalx_beside_the_engine(pg_url):
    """The peer's environment is made on first use (a one-off install of pretalx from PyPI
    into a folder of its own), so this run may install it; a later one reuses it."""
    from bench import peer

    was_installed = peer.installed()
    proc = subprocess.run([sys.executable, "-m", "bench", "peer", "--scale", "0.01"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = proc.stdout.strip().splitlines()[0]
    assert line.startswith("peer "), line
    found = figures(line)
    assert "reason" not in found, line
    assert found["peer"] == "pretalx-" + peer.PRETALX.rsplit("==", 1)[1], line
    # Both sides made the same number of changes and every one left its log and its mail.
    assert found["transitions"] == found["peer_changes"] == "20", line
    for counter in ("errors", "lost", "peer_errors", "peer_lost", "peer_mail_sent"):
        assert found[counter] == "0", line
    assert (found["peer_install_seconds"] == "cached") == was_installed, line
    assert float(found["per_second"]) > 0 and float(found["peer_per_second"]) > 0, line


def test_an_unmeasured_peer_says_why_on_its_line():
    from bench import peer

    line = peer.unmeasured({"transitions": 20, "per_second": 50.0}, "install-failed").line()
    assert line.startswith("peer ratio=nan target=>=1 MISS "), line
    assert line.endswith(" reason=install-failed"), line


def test_the_peer_environment_counts_only_with_the_pinned_pretalx(tmp_path, monkeypatch):
    from bench import peer

    monkeypatch.setattr(peer, "VENV", tmp_path)
    assert not peer.installed()
    (tmp_path / ".installed").write_text('{"requirement": "pretalx==2024.1.0", "seconds": 1}')
    assert not peer.installed()
    (tmp_path / ".installed").write_text(f'{{"requirement": "{peer.PRETALX}", "seconds": 1}}')
    assert peer.installed()
