"""pretalx's submission state changes, timed inside pretalx's own virtual environment.

Run by ``bench/peer.py`` with the peer environment's Python, ``DJANGO_SETTINGS_MODULE`` set to
``pretalx.settings`` and ``PRETALX_CONFIG_FILE`` naming a migrated scratch database; it imports
nothing of citypair. It seeds one event with its organiser and one speaker per submission
through pretalx's ORM, then accepts and rejects each submission in turn, every change loaded
and made in one transaction of its own as citypair's are, and prints one JSON line. (pretalx's
own requests commit statement by statement, which costs it a WAL flush per write; the single
transaction spares it those.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--event", required=True, help="the event's slug, new in the database")
    parser.add_argument("--submissions", type=int, required=True)
    parser.add_argument("--per-submission", type=int, required=True,
                        help="state changes on each submission, accept and reject in turn")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import pretalx
    from django.conf import settings
    from django.core import mail
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled
    from pretalx.common.models import ActivityLog
    from pretalx.event.models import Event, Organiser
    from pretalx.mail.models import QueuedMail
    from pretalx.person.models import User
    from pretalx.submission.models import Submission

    # Whatever pretalx would send goes to memory: the count below shows nothing is sent.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []

    with scopes_disabled():
        organiser = Organiser.objects.create(name="Cooperation programme", slug=args.event)
        today = dt.date.today()
        event = Event.objects.create(
            organiser=organiser, name="Call for applications", slug=args.event,
            email=f"coordinator@{args.event}.example.org", date_from=today + dt.timedelta(days=90),
            date_to=today + dt.timedelta(days=92))
        coordinator = User.objects.create_user(
            password="bench-password", email=f"coordinator@{args.event}.example.org",
            name="Coordinator")
        ids = []
        with scope(event=event):
            submission_type = event.cfp.default_type
            for i in range(args.submissions + 1):
                speaker = User.objects.create_user(
                    password="bench-password", email=f"city{i}@{args.event}.example.org",
                    name=f"City {i}")
                submission = Submission.objects.create(
                    event=event, title=f"Cooperation proposal {i}", state="submitted",
                    submission_type=submission_type, abstract="A city-to-city pairing.")
                submission.speakers.add(speaker)
                ids.append(submission.pk)
        # One more submission, kept out of the timed loop, whose statements are counted.
        probe = ids.pop()
        logs_before = ActivityLog.objects.filter(event=event).count()
        mails_before = QueuedMail.objects.filter(event=event).count()

    total = len(ids) * args.per_submission
    changed = errors = 0
    with scope(event=event):
        start = time.perf_counter()
        for round_ in range(args.per_submission):
            change = "accept" if round_ % 2 == 0 else "reject"
            for pk in ids:
                try:
                    with transaction.atomic():
                        submission = Submission.objects.select_related("event").get(pk=pk)
                        getattr(submission, change)(person=coordinator)
                    changed += 1
                except Exception as exc:  # counted, reported and shown once
                    if not errors:
                        print(f"first error: {exc!r}", file=sys.stderr)
                    errors += 1
        seconds = time.perf_counter() - start

    with scopes_disabled():
        logs = ActivityLog.objects.filter(event=event).count() - logs_before
        mails = QueuedMail.objects.filter(event=event).count() - mails_before
        drafts = QueuedMail.objects.filter(event=event, sent__isnull=True).count() - mails_before
        states = sorted(set(event.submissions.exclude(pk=probe).values_list("state", flat=True)))

    # The statements of one accept and one reject, counted outside the timed loop.
    statements = []
    with scope(event=event):
        for change in ("accept", "reject"):
            with CaptureQueriesContext(connection) as queries, transaction.atomic():
                submission = Submission.objects.select_related("event").get(pk=probe)
                getattr(submission, change)(person=coordinator)
            # Django lists BEGIN and COMMIT among the queries; count what the change says.
            statements.append(sum(q["sql"] not in ("BEGIN", "COMMIT")
                                  for q in queries.captured_queries))
    print(json.dumps({
        "version": pretalx.__version__, "changes": changed, "errors": errors,
        "expected": total, "seconds": seconds, "per_second": changed / seconds,
        "activity_logs": logs, "queued_mails": mails, "draft_mails": drafts,
        "sent_mails": len(mail.outbox), "final_states": states,
        "statements_per_change": statements,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
