"""E-mail in one place, the operations layer's mail side.

- ``outbox``: queue notifications inside the caller's transaction (it never commits) and hand
  their ids to the workers only after that transaction commits;
- ``delivery``: the worker's operation: claim, render, send and record, each outcome in a
  transaction of its own;
- ``rendering``: a notification into subject, text and HTML in the recipient's language;
- ``calendar``: the iCalendar events of deadlines and a person's calendar feed;
- ``sending``: the pooled SMTP sender and the embedded mode's file sink.
"""
