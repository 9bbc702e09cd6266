"""The domain core: workflow definitions, eligibility rules, pairing and schedules. No Flask.

A call kind is one definition module (its states, transitions and vocabulary) named in
``KINDS``, plus the e-mail templates its notifications name; the shell asks it everything else.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from workflows.engine import Workflow
from workflows.vocabulary import Vocabulary

#: the modules that define the shipped call kinds, each with a ``WORKFLOW``
KINDS = ("workflows.city_to_city", "workflows.region_to_region")
#: kinds added while the process runs (a programme's own kind, a test's)
_ADDED: dict[str, Workflow] = {}


def workflows() -> dict[str, Workflow]:
    """Every workflow definition, by call kind."""
    shipped = [importlib.import_module(name).WORKFLOW for name in KINDS]
    return {**{w.kind: w for w in shipped}, **_ADDED}


@contextmanager
def registered(workflow: Workflow) -> Iterator[Workflow]:
    """Offer ``workflow`` as a call kind while the block runs; refused if it is not sound."""
    problems = workflow.validate()
    if problems:
        raise ValueError(f"the {workflow.kind} definition is not sound: " + "; ".join(problems))
    if workflow.kind in workflows():
        raise ValueError(f"there is already a {workflow.kind} call kind")
    _ADDED[workflow.kind] = workflow
    try:
        yield workflow
    finally:
        _ADDED.pop(workflow.kind, None)


def get_workflow(kind: str) -> Workflow:
    """The definition for a call kind; KeyError for an unknown kind."""
    return workflows()[kind]


def vocabularies() -> dict[str, Vocabulary]:
    """Every call kind's vocabulary, by call kind."""
    return {kind: vocabulary(kind) for kind in workflows()}


def vocabulary(kind: str) -> Vocabulary:
    """What a call kind calls things and asks for; KeyError for an unknown kind."""
    words = get_workflow(kind).vocabulary
    assert words is not None, f"the {kind} definition declares no vocabulary"
    return words
