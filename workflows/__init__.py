"""The domain core: workflow definitions, eligibility rules, pairing and schedules. No Flask."""

from workflows.engine import Workflow


def workflows() -> dict[str, Workflow]:
    """Every workflow definition, by call kind."""
    from workflows.city_to_city import WORKFLOW as city_to_city

    return {w.kind: w for w in (city_to_city,)}


def get_workflow(kind: str) -> Workflow:
    """The definition for a call kind; KeyError for an unknown kind."""
    return workflows()[kind]
