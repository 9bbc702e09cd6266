"""The machinery of a simulation: the virtual clock the app reads, the mail sink that records
what was sent, and the timeline that plays scripted actions and the real sweep in time order."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from tasks.delivery import deliver as deliver_task
from tasks.sweep import sweep as sweep_task
from webapp.db import db
from webapp.errors import OperationError
from workflows.schedule import add_months

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
#: the simulated call opens on a Monday morning; nothing depends on the real date
START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
#: the sweep runs at these UTC hours every simulated day (the beat runs it every minute)
SWEEP_HOURS = (6, 18)


class VirtualClock:
    """The simulated time; the app reads it through ``webapp.db.utcnow``."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class RecordingSender:
    """The mail sink of the simulation: keeps one entry per message actually sent, and the
    calendar file each one carries."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.calendars: dict[int, bytes] = {}

    def send(self, message: EmailMessage) -> None:
        notification_id = int(message["X-Citypair-Notification"])
        self.sent.append((notification_id, str(message["To"])))
        for part in message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                self.calendars[notification_id] = part.get_payload(decode=True)


class Timeline:
    """Actions queued at virtual times, played in order between the sweeps of each simulated
    day, with every e-mail they hand over delivered at once."""

    def __init__(self, months: int, seed: int):
        self.rng = random.Random(seed)
        self.end = add_months(START, months)
        self.clock = VirtualClock(START)
        self.mail = RecordingSender()
        self.handed_over: list[int] = []  # notification ids committed, waiting for a worker
        self.events: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.sequence = itertools.count()
        self.refused: list[str] = []

    def who(self, args: tuple[Any, ...]) -> str:
        """Whose action was refused, for the report (the scripted parties say)."""
        return ""

    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        """Do ``action`` at virtual time ``when`` (never in the past)."""
        heapq.heappush(self.events, (max(when, self.clock.now), next(self.sequence), action,
                                     args))

    def later(self, low: float, high: float, action: Callable[..., None], *args: Any) -> None:
        """Do ``action`` between ``low`` and ``high`` days from now, in working hours."""
        self.at(self.working_time(self.clock.now + self.rng.uniform(low, high) * DAY),
                action, *args)

    def working_time(self, moment: datetime) -> datetime:
        hour = self.rng.randint(8, 16)
        return moment.replace(hour=hour, minute=self.rng.randint(0, 59), second=0,
                              microsecond=0)

    def deliver(self) -> None:
        """What a worker does with the ids handed over after each commit."""
        while self.handed_over:
            batch, self.handed_over[:] = list(self.handed_over), []
            for nid in batch:
                deliver_task.apply(args=(nid,), throw=True)

    def sweep(self) -> None:
        sweep_task.apply(throw=True)
        self.deliver()

    def run(self) -> None:
        """Play every event and sweep in time order until the end."""
        ticks = self.sweep_times()
        tick = next(ticks)
        while True:
            if self.events and self.events[0][0] <= tick:
                when, _, action, args = heapq.heappop(self.events)
                if when > self.end:
                    break
                self.clock.now = when
                try:
                    action(*args)
                except OperationError as exc:
                    self.refused.append(f"{action.__name__}{self.who(args)}: {exc.message} "
                                        f"{' '.join(exc.reasons)}".strip())
                finally:
                    db.session.remove()
                self.deliver()
            else:
                if tick > self.end:
                    break
                self.clock.now = tick
                self.sweep()
                tick = next(ticks)

    def sweep_times(self):
        day = START.replace(hour=0, minute=0)
        while True:
            for hour in SWEEP_HOURS:
                moment = day + hour * HOUR
                if moment >= START:
                    yield moment
            day += DAY
