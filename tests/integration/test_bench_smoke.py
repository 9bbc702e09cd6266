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
