"""Celery: the transport for e-mail and the clock for the sweep. Tasks carry ids only and call
the operations layer; the database holds the schedule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown
from flask import Flask

from tasks import file_broker
from webapp.safety import private_dir

# The embedded broker's messages appear whole or not at all (see tasks/file_broker.py).
file_broker.install()
celery = Celery("citypair", include=["tasks.delivery", "tasks.sweep", "tasks.privacy"])
_flask_app: Flask | None = None


class AppTask(Task):
    """A task that runs inside the Flask application's context."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with flask_app().app_context():
            return super().__call__(*args, **kwargs)


celery.Task = AppTask  # type: ignore[misc]


def flask_app() -> Flask:
    """The Flask app this process serves; a worker builds its own from the environment."""
    global _flask_app
    if _flask_app is None:
        from webapp import create_app

        _flask_app = create_app()
    return _flask_app


def delivery_time_limit(app: Flask) -> float:
    """How long a delivery task may run before it is told to stop: a batch goes no further
    than its first slow message, so one message's longest send, a quick exchange for each of
    the others, and a margin."""
    from webapp.mail.delivery import longest_send

    return longest_send(app.config) + DELIVERY_BATCH * app.config["SMTP_TIMEOUT"] + 60


def _broker_options(app: Flask) -> dict[str, Any]:
    url = app.config["CELERY_BROKER_URL"]
    if url.startswith("filesystem"):
        folder = Path(app.config["INSTANCE_DIR"]) / "broker"
        for sub in ("processed", "control"):
            private_dir(folder / sub)
        return {"data_folder_in": str(folder), "data_folder_out": str(folder),
                "processed_folder": str(folder / "processed"), "store_processed": False,
                "control_folder": str(folder / "control")}
    # Redelivery of an unacknowledged task after a crash; longer than any task may run.
    return {"visibility_timeout": max(600, delivery_time_limit(app) + 120)}


def bind_celery(app: Flask) -> None:
    """Configure the Celery app from the Flask app's settings and wire the outbox to it."""
    global _flask_app
    _flask_app = app
    if celery.conf.broker_url and celery.conf.broker_url != app.config["CELERY_BROKER_URL"]:
        # Connections to the old broker must not be reused for the new one.
        celery._pool = None
        celery.amqp._producer_pool = None
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        broker_transport_options=_broker_options(app),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=120,
        task_soft_time_limit=90,
        task_always_eager=app.config["CELERY_ALWAYS_EAGER"],
        task_default_queue="citypair",
        beat_schedule={
            "sweep": {"task": "tasks.sweep.sweep",
                      "schedule": float(os.environ.get("SWEEP_INTERVAL", "60"))},
            "retention": {"task": "tasks.privacy.retention", "schedule": 24 * 3600.0},
        },
        beat_schedule_filename=str(Path(app.config["INSTANCE_DIR"]) / "celerybeat-schedule"),
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    from tasks.delivery import deliver, deliver_batch
    from webapp.mail import outbox

    # Past the soft limit a message whose end went out is recorded as unknown and the others
    # stay claimed until the sweep revives them; the hard limit comes only after that.
    soft = delivery_time_limit(app)
    for task in (deliver, deliver_batch):
        task.soft_time_limit, task.time_limit = soft, soft + 30
    outbox.set_dispatcher(enqueue_delivery)


@worker_process_init.connect
def _fresh_process(**_kwargs: Any) -> None:
    # A forked worker child must open its own database connections, never share its parent's.
    from webapp.db import db

    if db.engine is not None:
        db.engine.dispose(close=False)


@worker_process_shutdown.connect
def _goodbye(**_kwargs: Any) -> None:
    from webapp.mail.sending import close_connections

    close_connections()


#: notifications per delivery task: one claim, one read of their cases and one relay
#: connection serve them all; fewer, longer tasks spend less on the broker's round trips
DELIVERY_BATCH = 25


def enqueue_delivery(ids: list[int], countdown: float | None = None) -> None:
    """Hand committed notification ids to the delivery tasks, a few to each (after
    ``countdown`` seconds: a retry soon)."""
    from tasks.delivery import deliver, deliver_batch

    ids = list(ids)
    # One producer for the whole batch: a sweep may hand over thousands at once.
    with celery.producer_or_acquire() as producer:
        for start in range(0, len(ids), DELIVERY_BATCH):
            chunk = ids[start:start + DELIVERY_BATCH]
            if len(chunk) == 1:
                deliver.apply_async((chunk[0],), producer=producer, countdown=countdown)
            else:
                deliver_batch.apply_async((chunk,), producer=producer, countdown=countdown)


def broker_status() -> dict[str, Any]:
    """Whether the broker answers, for /healthz."""
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return {"ok": True, "transport": conn.transport_cls
                    if isinstance(conn.transport_cls, str) else str(conn.transport_cls)}
    except Exception as exc:  # reported, not raised
        return {"ok": False, "error": type(exc).__name__}
