"""What a simulation ends with, counted from the database and the recorded mail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from simulation.clock import RecordingSender
from webapp.db import db
from webapp.models import Case, Deadline, Deliverable, Notification


@dataclass(frozen=True)
class SentMail:
    """One delivered e-mail as the recipient got it: its kind, the deadline it announces (if
    any) and its calendar file (if any)."""

    notification_id: int
    template: str
    deadline_id: int | None
    calendar: bytes | None


@dataclass
class Summary:
    """What the simulation ends with, counted from the database and the recorded mail."""

    states: Counter[str]
    on_time: int
    late: int
    revisions: int
    reminders: int
    delivered: int
    duplicates: int
    refused: list[str]
    #: every delivered mail, in the order it was sent
    mail: list[SentMail] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, state: str) -> int:
        """Cases in ``state``, whatever their call."""
        return sum(n for key, n in self.states.items() if key.split()[-1] == state)

    @property
    def completed(self) -> int:
        return self.count("completed")

    def lines(self) -> list[str]:
        """The report, the machine-readable line last."""
        out = ["cases per final state:"]
        out += [f"  {state}: {n}" for state, n in sorted(self.states.items())]
        out.append(f"deliverables handed in: {self.on_time} on time, {self.late} late "
                   f"(first hand-in against the first due date); "
                   f"{self.revisions} sent back for revision")
        out.append(f"e-mails delivered: {self.delivered}, of which reminders and "
                   f"escalations: {self.reminders}")
        announcing = [m for m in self.mail if m.deadline_id]
        out.append(f"e-mails announcing a deadline: {len(announcing)}, with its calendar "
                   f"event: {sum(1 for m in announcing if m.calendar)}")
        for problem in self.refused:
            out.append(f"refused: {problem}")
        out.append(f"completed={self.completed} reminders={self.reminders} "
                   f"duplicates={self.duplicates}")
        return out


def summarise(call_ids: Iterable[int], recorded: RecordingSender, refused: list[str]) -> Summary:
    """The summary of the calls ``call_ids``, with the mail ``recorded`` recorded."""
    session = db.session
    states = Counter({f"{kind} {state}": n for kind, state, n in session.execute(
        select(Case.workflow, Case.state, func.count())
        .where(Case.call_id.in_(call_ids))
        .group_by(Case.workflow, Case.state)).all()})
    first = (select(func.min(Deadline.id).label("id")).where(
        Deadline.deliverable_id.is_not(None)).group_by(Deadline.deliverable_id).subquery())
    handed = session.execute(
        select(Deadline.due_at, Deadline.ended_at).join(first, Deadline.id == first.c.id)
        .where(Deadline.status == "met")).all()
    late = sum(1 for due, ended in handed if ended > due)
    revisions = session.scalar(select(func.count()).select_from(Deadline).join(
        Deliverable, Deliverable.id == Deadline.deliverable_id).where(
        Deadline.id.not_in(select(first.c.id)))) or 0
    rows = {n.id: n for n in session.scalars(select(Notification).where(
        Notification.id.in_({nid for nid, _ in recorded.sent})))}
    deadlines = {d.id: d for d in session.scalars(select(Deadline).where(
        Deadline.id.in_({n.deadline_id for n in rows.values() if n.deadline_id})))}
    identities: Counter[tuple[Any, ...]] = Counter()
    reminders = 0
    for nid, to in recorded.sent:
        n = rows[nid]
        if n.idempotency_key.startswith("reminder:"):
            reminders += 1
            deadline = deadlines.get(n.deadline_id)
            what = (deadline.deliverable_id or f"deadline {deadline.id}", deadline.due_at) \
                if deadline else n.deadline_id
            identities[(to, n.template, what, (n.context or {}).get("offset_minutes"))] += 1
        else:
            identities[(to, n.idempotency_key)] += 1
    duplicates = sum(count - 1 for count in identities.values())
    mail = [SentMail(nid, rows[nid].template, rows[nid].deadline_id,
                     recorded.calendars.get(nid)) for nid, _ in recorded.sent]
    return Summary(states=states, on_time=len(handed) - late, late=late,
                   revisions=revisions, reminders=reminders, delivered=len(recorded.sent),
                   duplicates=duplicates, refused=refused, mail=mail)
