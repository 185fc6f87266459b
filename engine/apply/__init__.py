"""Applying a saved plan: the executor, staleness checks, verification (see docs/apply.md)."""
