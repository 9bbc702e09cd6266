"""Benchmarks at programme scale, each a ratio against the bare stack doing the same work."""
