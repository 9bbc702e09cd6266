"""The coordinators' back office: the case list with its exports and bulk actions, the case
page where decisions are taken, the dashboard and the workflow diagrams."""

from webapp.coordinator import case_list, case_page, overview  # noqa: F401  (routes register)
from webapp.coordinator.blueprint import bp

__all__ = ["bp"]
