"""The domain core: workflow definitions, eligibility rules, pairing and schedules. No Flask."""

from workflows.engine import Workflow
from workflows.vocabulary import Vocabulary


def workflows() -> dict[str, Workflow]:
    """Every workflow definition, by call kind."""
    from workflows.city_to_city import WORKFLOW as city_to_city
    from workflows.region_to_region import WORKFLOW as region_to_region

    return {w.kind: w for w in (city_to_city, region_to_region)}


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
