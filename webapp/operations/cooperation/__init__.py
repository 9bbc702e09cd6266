"""The cooperation period: the deliverable schedule, activities, reports, case health, and the
assessment of applications by several evaluators.

The schedule is created when a case starts cooperating, the follow-up report when it is
completed, and the facts the closing and selection guards judge are read here: the wiring
(webapp/operations/wiring.py) names these functions for the hooks and facts of the definitions.
"""

from webapp.operations.cooperation.activities import (
    activities,
    date_range,
    log_activity,
    timeline_items,
)
from webapp.operations.cooperation.common import (
    ACTIVITY_TYPES,
    ATTACHMENT_TYPES,
    DIRECTIONS,
)
from webapp.operations.cooperation.facts import (
    plan_facts,
    report_facts,
    scoring_facts,
)
from webapp.operations.cooperation.handing_in import (
    can_hand_in,
    mark_submitted,
    review_deliverable,
    submit_deliverable,
)
from webapp.operations.cooperation.health import (
    health_for_cases,
    health_of_case,
    health_severity,
)
from webapp.operations.cooperation.reports import (
    REPORT_FIELDS,
    ReportConflict,
    report_for,
    report_period,
    report_problems,
    save_report,
)
from webapp.operations.cooperation.schedule import (
    KICKOFF_WITHIN,
    create_schedule,
    deliverables,
    kickoff_problem,
    programme_zone,
    rules_for_call,
    set_kickoff,
    start_deliverable_deadline,
    start_follow_up,
)

__all__ = [
    "ACTIVITY_TYPES",
    "ATTACHMENT_TYPES",
    "DIRECTIONS",
    "KICKOFF_WITHIN",
    "REPORT_FIELDS",
    "ReportConflict",
    "activities",
    "can_hand_in",
    "create_schedule",
    "date_range",
    "deliverables",
    "health_for_cases",
    "health_of_case",
    "health_severity",
    "kickoff_problem",
    "log_activity",
    "mark_submitted",
    "plan_facts",
    "programme_zone",
    "report_facts",
    "report_for",
    "report_period",
    "report_problems",
    "review_deliverable",
    "rules_for_call",
    "save_report",
    "scoring_facts",
    "set_kickoff",
    "start_deliverable_deadline",
    "start_follow_up",
    "submit_deliverable",
    "timeline_items",
]
