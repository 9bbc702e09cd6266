"""The one periodic task: due reminders, stuck notifications, automatic transitions."""

from __future__ import annotations

from tasks import celery
from webapp.operations import reminders


@celery.task(name="tasks.sweep.sweep", acks_late=True, reject_on_worker_lost=True)
def sweep() -> dict[str, int]:
    """Run one sweep; safe to run twice at once."""
    return reminders.sweep().as_dict()
