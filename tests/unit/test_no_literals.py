"""The shell asks the workflow definitions: no page, module or task of the web app names a
state, a transition, a guard, a hook or a call kind as a quoted string.

Every such name is collected from the definitions themselves, so a new kind's names are
checked too. A few of them are also ordinary words with another meaning here (an HTML button's
``type="submit"``, a call's status ``draft``); those uses are listed below, each with what it
means, and nothing else is let through.
"""

import re
from pathlib import Path

from workflows import workflows
from workflows.engine import Hook

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("webapp", "tasks", "templates")


def definition_names() -> dict[str, str]:
    """Every name a definition gives, with what it names."""
    found: dict[str, str] = {}
    for wf in workflows().values():
        found[wf.kind] = "call kind"
        for s in wf.states:
            found.setdefault(s.name, "state")
        for t in wf.transitions:
            found.setdefault(t.name, "transition")
            for g in t.guards:
                found.setdefault(g, "guard")
        for g in wf.guards:
            found.setdefault(g, "guard")
    for h in Hook:
        found.setdefault(h.value, "hook")
    return found


#: lines where one of the names is a word of another vocabulary, and what it is there
OTHER_MEANINGS = (
    (re.compile(r"""type\s*=\s*['"]submit['"]"""), "an HTML button's type"),
    (re.compile(r"""(<select class=|class_\s*=\s*|else\s+|Select(Multiple)?Field['"]:\s*)"""
                r"""['"]select['"]"""),
     "an HTML select element or its CSS class"),
    (re.compile(r"""name='action', value=|request\.form\.get\("action"\) =="""),
     "the value of a form's save or send button"),
    (re.compile(r"""kind_colours = \{|set kinds = \{|state\.kind\|string =="""),
     "a StateKind (what a state means), not a state"),
    (re.compile(r"""^\s*"\w+": Spec\("""), "an e-mail template's name"),
)
#: files where a name is another thing's: a call's status "draft", a plan version's purpose
#: "draft", the section of a person's data export (an API field) "scores_given"
WORDS_ELSEWHERE = {
    ("webapp/calls/__init__.py", "draft"): "a call's status",
    ("webapp/models/programme.py", "draft"): "a call's status",
    ("templates/calls/detail.html", "draft"): "a call's status",
    ("templates/calls/index.html", "draft"): "a call's status",
    ("templates/public/calls.html", "draft"): "a call's status",
    ("webapp/models/cooperation.py", "draft"): "a plan version's purpose",
    ("webapp/operations/lap.py", "draft"): "a plan version's purpose",
    ("templates/cooperation/plan.html", "draft"): "a plan version's purpose",
    ("templates/cooperation/plan_version.html", "draft"): "a plan version's purpose",
    ("templates/documents/lap.html", "draft"): "a plan version's purpose",
    ("webapp/operations/privacy/export.py", "scores_given"): "a section of a person's data export",
}


def literal_pattern(names) -> re.Pattern[str]:
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    return re.compile(rf"""(["'])({alternatives})\1""")


def shell_files():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".txt") and "translations" not in path.parts:
                yield path


def literals() -> list[str]:
    names = definition_names()
    pattern = literal_pattern(names)
    found = []
    for path in shell_files():
        where = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                word = m.group(2)
                if any(p.search(line) for p, _why in OTHER_MEANINGS):
                    continue
                if (where, word) in WORDS_ELSEWHERE:
                    continue
                found.append(f"{where}:{n}: {names[word]} {word!r}: {line.strip()}")
    return found


def test_the_names_are_collected_from_the_definitions():
    names = definition_names()
    assert {"state", "transition", "guard", "hook", "call kind"} == set(names.values())
    # each definition's own names are in, so a new kind is checked without editing this test
    for wf in workflows().values():
        assert {wf.kind, *(s.name for s in wf.states), *(t.name for t in wf.transitions)} \
            <= set(names)


def test_no_state_transition_guard_hook_or_call_kind_literal_outside_the_definitions():
    found = literals()
    assert not found, ("Ask the definition (purposes, vocabulary, Workflow lookups) instead:\n"
                       + "\n".join(found))


def test_the_check_finds_a_literal_when_there_is_one(tmp_path):
    # The pattern the test greps with catches each kind of name, quoted either way.
    pattern = literal_pattern(definition_names())
    for line in ('if case.state == "awaiting_pairing":', "fire(case, 'submit_lap')",
                 'if "plan_complete" in t.guards:', "kind == 'region-to-region'",
                 '"generate_agreement" in s.on_enter'):
        assert pattern.search(line), line
    assert not pattern.search("awaiting_pairing_count = 1")
