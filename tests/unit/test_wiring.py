"""The wiring of the operations layer: what the definitions name is exactly what is
implemented, and it is all in place after importing the module that fires transitions."""

import subprocess
import sys
from pathlib import Path

from webapp.operations.wiring import assemble
from workflows import workflows
from workflows.engine import Hook

ROOT = Path(__file__).resolve().parents[2]


def named_hooks() -> set[Hook]:
    found: set[Hook] = set()
    for wf in workflows().values():
        found |= {h for s in wf.states for h in s.on_enter}
        found |= {h for t in wf.transitions for h in t.effects}
    return found


def test_the_hooks_the_definitions_name_are_exactly_those_implemented():
    wired = assemble()
    assert set(wired.hooks) == named_hooks() == set(Hook)
    assert all(wired.hooks[h] and all(callable(fn) for fn in wired.hooks[h]) for h in Hook)


def test_every_fact_a_guard_reads_beyond_the_snapshot_has_a_provider():
    wired = assemble()
    provided = set().union(*(p.provides for p in wired.facts))
    # the snapshot itself gives these; every other fact a guard reads needs a provider
    own = {"call_partner_regions", "cooperation_ends_at", "partner_kind", "partner_noun"}
    needed = {n for wf in workflows().values() for g in wf.guards.values() for n in g.needs}
    assert needed - own == provided


def test_a_bare_import_of_the_transition_module_gives_the_full_wiring():
    # A fresh interpreter: nothing else of the web app imported first.
    script = (
        "import webapp.operations.cases as cases\n"
        "w = cases.wiring()\n"
        "print(len(w.hooks), len(w.facts), len(w.after_transition), len(w.health), "
        "len(w.timeline))\n"
        "print(sorted(h.value for h in w.hooks))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == f"{len(Hook)} 3 1 1 1"
    assert out[1] == str(sorted(h.value for h in Hook))


def test_importing_a_feature_module_registers_nothing():
    # The lists features used to fill on import are gone: the wiring is the one table.
    import webapp.operations.cases as cases

    for gone in ("HOOKS", "AGREEMENT_GENERATORS", "COOPERATION_STARTERS",
                 "FOLLOW_UP_STARTERS", "AFTER_TRANSITION", "FACT_PROVIDERS"):
        assert not hasattr(cases, gone), gone
