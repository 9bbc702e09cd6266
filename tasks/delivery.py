"""Deliver one notification: claim it, render it, send it, record the outcome."""

from __future__ import annotations

from tasks import celery
from webapp.operations import delivery


@celery.task(name="tasks.delivery.deliver", bind=True, acks_late=True,
             reject_on_worker_lost=True, max_retries=None)
def deliver(self, notification_id: int) -> str:
    """Send notification ``notification_id`` once; a transient failure retries soon."""
    outcome = delivery.deliver(notification_id)
    if outcome.retry_in is not None:
        # A short countdown only: the sweep re-enqueues anything that is still pending later.
        raise self.retry(countdown=min(outcome.retry_in, 60))
    return outcome.status
