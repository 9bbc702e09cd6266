"""Deliver notifications: claim them, render them, send them, record each outcome."""

from __future__ import annotations

from tasks import celery, enqueue_delivery
from webapp.mail import delivery


@celery.task(name="tasks.delivery.deliver", bind=True, acks_late=True,
             reject_on_worker_lost=True, max_retries=None)
def deliver(self, notification_id: int) -> str:
    """Send notification ``notification_id`` once; a transient failure soon retries here, a
    later one is handed over by the sweep when it falls due."""
    outcome = delivery.deliver(notification_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@celery.task(name="tasks.delivery.deliver_batch", acks_late=True, reject_on_worker_lost=True)
def deliver_batch(notification_ids: list[int]) -> dict[str, int]:
    """Send several notifications over one relay connection; those to be tried again soon go
    on as batches of their own, each group after its wait."""
    counts: dict[str, int] = {}
    again: dict[float, list[int]] = {}
    for notification_id, outcome in delivery.deliver_many(notification_ids).items():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.retry_in is not None:
            again.setdefault(outcome.retry_in, []).append(notification_id)
    for wait, ids in again.items():
        enqueue_delivery(ids, countdown=wait)
    return counts
