"""Which backend (the sandbox or Amazon, and which seller) live state was read from.

A plan records it, and apply refuses a plan made against a different backend: a plan made
against the sandbox must never be applied to a real seller account.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackendIdentity:
    kind: str  # sandbox | spapi
    seller_id: str
    endpoint: str | None = None
