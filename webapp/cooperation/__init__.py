"""The cooperation pages, for the partners of a pair and for coordinators: deliverables,
activities, reports, the plan, and the assessment of applications by evaluators.
"""

from webapp.cooperation.activities import (
    activities,
    new_activity,
)
from webapp.cooperation.assessment import (
    declare_conflict,
    save_scoring,
    scoring,
)
from webapp.cooperation.common import (
    STATUS_TAGS,
    bp,
)
from webapp.cooperation.deliverables import (
    deliverable,
    document,
    hand_in,
    kickoff,
    overview,
    review,
)
from webapp.cooperation.plan import (
    plan,
    plan_section,
    plan_version,
    plan_version_pdf,
    review_plan,
    save_plan_section,
    send_plan_draft,
    submit_plan,
)
from webapp.cooperation.reports import (
    report,
    reports,
    save_report,
)

__all__ = [
    "STATUS_TAGS",
    "activities",
    "bp",
    "declare_conflict",
    "deliverable",
    "document",
    "hand_in",
    "kickoff",
    "new_activity",
    "overview",
    "plan",
    "plan_section",
    "plan_version",
    "plan_version_pdf",
    "report",
    "reports",
    "review",
    "review_plan",
    "save_plan_section",
    "save_report",
    "save_scoring",
    "scoring",
    "send_plan_draft",
    "submit_plan",
]
