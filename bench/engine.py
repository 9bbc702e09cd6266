"""Transitions fired through the operations layer, against bare UPDATE + INSERT pairs each
committed on its own."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg

from bench.common import Clock, Result, analyze, clone, make_app, scalar, scaled, submitted_world
from webapp.db import db, utcnow
from webapp.mail import outbox
from webapp.operations import cases

#: transitions fired on each case, alternating a question and its answer
PER_CASE = 10
#: a tenth of the programme-scale 100,000: on this 2-core machine every commit waits for its
#: WAL flush (about 5 ms), so 100,000 bare commits alone take longer than the whole bench may
TRANSITIONS = 10_000


def run(scale: float, folder: Path) -> Result:
    from bench.common import scratch_database

    total = scaled(TRANSITIONS, scale, least=PER_CASE * 2)
    n_cases = total // PER_CASE
    with scratch_database("engine") as url:
        app = make_app(url, folder)
        with app.app_context():
            now = utcnow()
            world, template = submitted_world(now)
            clone(url, "case", f"t.id = {template}", n_cases - 1,
                  reference="t.reference || '-' || g")
            analyze(url)
            ids = list(range(template, template + n_cases))
            coordinator, applicant = world.coordinator, world.applicant_a
            # Notifications are written to the outbox; no broker traffic is part of this cost.
            outbox.set_dispatcher(lambda _ids: None)
            # A datetime, as the form and the API hand it over: the answer's deadline and its
            # reminders are written as they are for a real request.
            due = now + timedelta(days=30)
            fired = errors = 0
            with Clock() as ours:
                for _round in range(PER_CASE // 2):
                    for case_id in ids:
                        try:
                            cases.fire(case_id, "request_information", coordinator,
                                       {"message": "Send the council decision",
                                        "response_deadline": due}, now=now)
                            cases.fire(case_id, "provide_information", applicant,
                                       {"answer": "Attached."}, now=now)
                            fired += 2
                        except Exception:
                            errors += 1
                            db.session.rollback()
            audits = scalar(url, "SELECT count(*) FROM audit_event WHERE action IN "
                                 "('request_information', 'provide_information')")

        bare = _bare(url, ids, total, coordinator.id)
    rate, bare_rate = fired / ours.seconds, total / bare
    return Result("engine", rate / bare_rate, 0.3, "min", {
        "transitions": fired, "errors": errors, "lost": total - audits,
        "seconds": ours.seconds, "per_second": rate, "bare_seconds": bare,
        "bare_per_second": bare_rate}, checks={"errors": errors == 0, "lost": audits == total})


def _bare(url: str, ids: list[int], total: int, actor_id: int) -> float:
    """The same count of state changes as bare UPDATE + INSERT pairs, each its own commit."""
    payload = json.dumps({"message": "Send the council decision"})
    with psycopg.connect(url) as conn, Clock() as clock:
        for i in range(total):
            case_id = ids[i // 2 % len(ids)] if len(ids) else ids[0]
            source, target = (("eligibility_review", "information_requested") if i % 2 == 0
                              else ("information_requested", "eligibility_review"))
            conn.execute('UPDATE "case" SET state = %s, version = version + 1, '
                         "updated_at = now() WHERE id = %s", (target, case_id))
            conn.execute("INSERT INTO audit_event (case_id, at, actor_id, actor_role, "
                         "actor_label, source_address, action, from_state, to_state, payload) "
                         "VALUES (%s, now(), %s, 'coordinator', 'bench', '', 'bare', %s, %s, "
                         "%s)", (case_id, actor_id, source, target, payload))
            conn.commit()
    return clock.seconds
