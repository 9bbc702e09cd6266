"""The use cases. Each opens one transaction, asks the engine, writes state, audit, deadlines
and outbox together, and commits; nothing else writes cases."""

# The tallies keep themselves in every session's transactions once their listeners exist.
from webapp.operations import tallies as _tallies  # noqa: E402,F401
