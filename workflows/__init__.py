"""The domain core: workflow definitions, eligibility rules, pairing and schedules. No Flask."""

from workflows.engine import Workflow


def workflows() -> dict[str, Workflow]:
    """Every workflow definition, by call kind."""
    from workflows.city_to_city import WORKFLOW as city_to_city
    from workflows.region_to_region import WORKFLOW as region_to_region

    return {w.kind: w for w in (city_to_city, region_to_region)}


def get_workflow(kind: str) -> Workflow:
    """The definition for a call kind; KeyError for an unknown kind."""
    return workflows()[kind]
