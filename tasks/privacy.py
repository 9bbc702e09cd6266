"""The daily retention run: unsuccessful applications leave once their period is over."""

from __future__ import annotations

from tasks import celery
from webapp.operations import privacy


@celery.task(name="tasks.privacy.retention", acks_late=True, reject_on_worker_lost=True)
def retention() -> dict[str, int]:
    """Apply the retention rule once; a run at the same moment waits and finds nothing."""
    result = privacy.apply_retention()
    return {"cases": len(result.cases), "documents": result.documents,
            "audit_events": result.audit_events, "files": len(result.files_deleted)}
