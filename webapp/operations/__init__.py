"""The use cases. Each opens one transaction, asks the engine, writes state, audit, deadlines
and outbox together, and commits; nothing else writes cases."""
