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


@celery.task(name="tasks.delivery.deliver_batch", acks_late=True, reject_on_worker_lost=True)
def deliver_batch(notification_ids: list[int]) -> dict[str, int]:
    """Send several notifications over one relay connection; each one that must be tried
    again goes on as a ``deliver`` task of its own."""
    counts: dict[str, int] = {}
    for notification_id, outcome in delivery.deliver_many(notification_ids).items():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.retry_in is not None:
            deliver.apply_async((notification_id,), countdown=min(outcome.retry_in, 60))
    return counts
