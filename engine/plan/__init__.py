"""Plans: what would change between desired and live state, and how to show it."""
