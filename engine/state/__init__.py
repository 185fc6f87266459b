"""sellersync's own state (journal, last-applied values, apply lock, snapshot index, API call
log, breakers, watchdog checkpoints) in one store with two backends: SQLite in the state
directory, or PostgreSQL for CI runners that keep nothing between runs. See docs/state.md."""
