"""The vocabulary every layer shares: the listing `Resource`, changes and changesets, orders,
money, marketplaces, backend identity, Decimal JSON, errors and exit codes.

Nothing here imports from the engine outside engine.core, so every other package may depend
on it and it depends on none of them.
"""
