"""The coordinators' back office: the case list with its exports and bulk actions, the case
page where decisions are taken, the deliverables across cases, the dashboard and the workflow
diagrams."""

from webapp.coordinator import (  # noqa: F401  (routes register)
    case_list,
    case_page,
    deliverables,
    overview,
)
from webapp.coordinator.blueprint import bp

__all__ = ["bp"]
