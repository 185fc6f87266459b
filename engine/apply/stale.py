"""When a saved plan may no longer be applied: what "stale" means.

A plan is a reviewed changeset against the live state it was computed from. Applying it
anywhere else would write changes nobody reviewed, so apply refuses it (exit 4) when:

- the config digest differs: the YAML changed since planning, so the plan no longer says
  what the config says;
- the backend identity differs: the plan was made for another seller account or endpoint;
- a touched listing's live fingerprint changed: someone (Seller Central, another tool, a
  sale ending) edited it since planning, so the plan's `before` is not what is live.

The embedded sandbox is served on a new ephemeral port by every command, so for it the
endpoint is not part of the identity; the seller id still is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.apply.verify import Unreadable
from engine.core.errors import UserError
from engine.core.identity import BackendIdentity
from engine.core.resource import Resource
from engine.plan.model import Plan, fingerprint
from engine.state.lock import EXIT_LOCK_HELD

EXIT_STALE = EXIT_LOCK_HELD  # "not now, nothing was written": the same code as a held lock
SHOWN_REASONS = 10  # a plan of thousands of drifted listings names the first few


class PlanStale(UserError):
    """The plan cannot be applied as reviewed; nothing was written."""

    exit_code = EXIT_STALE

    def __init__(self, reasons: Sequence[str]):
        self.reasons = tuple(reasons)
        shown = "; ".join(self.reasons[:SHOWN_REASONS])
        if len(self.reasons) > SHOWN_REASONS:
            shown += f"; and {len(self.reasons) - SHOWN_REASONS} more listing(s)"
        super().__init__(
            f"the plan is stale, nothing was written: {shown}. Run `sync plan` again, review "
            "the new plan and apply that one"
        )


def _identity_text(identity: BackendIdentity) -> str:
    where = f" at {identity.endpoint}" if identity.endpoint else ""
    return f"{identity.kind} seller {identity.seller_id}{where}"


def config_mismatch(plan: Plan, config_digest: str) -> str | None:
    """Why the plan does not match the current config, or None when it does."""
    if plan.config_digest == config_digest:
        return None
    return (
        f"the config changed since the plan was made (config digest "
        f"{plan.config_digest[:12]}… in the plan, {config_digest[:12]}… now)"
    )


def identity_mismatch(plan: Plan, backend: BackendIdentity) -> str | None:
    """Why the plan was made for another account or endpoint, or None when it was not."""
    reason = backend_mismatch(plan.backend, backend)
    return None if reason is None else f"the plan was {reason}"


def backend_mismatch(ours: BackendIdentity, backend: BackendIdentity) -> str | None:
    """Why a file made against `ours` does not belong to `backend` ("made for ..., this is
    ..."), or None when it does."""
    same_place = ours.endpoint == backend.endpoint or ours.kind == backend.kind == "sandbox"
    if (ours.kind, ours.seller_id) == (backend.kind, backend.seller_id) and same_place:
        return None
    return f"made for {_identity_text(ours)}, this is {_identity_text(backend)}"


def live_changed(recorded: str, live: Resource | Unreadable | None) -> bool:
    """Whether a live listing is no longer the one whose fingerprint the plan `recorded`
    (a listing live cannot read is not one the plan saw)."""
    if isinstance(live, Unreadable):
        return True
    return fingerprint(live) != recorded


def stale_reasons(
    fingerprints: Mapping[str, str], current: Mapping[str, Resource | Unreadable | None]
) -> list[str]:
    """Why each listing in `current` (read live just now) is no longer what the plan saw;
    `fingerprints` are the plan's, by address."""
    return [
        changed_reason(address, live)
        for address, live in current.items()
        if live_changed(fingerprints[address], live)
    ]


def changed_reason(address: str, live: Resource | Unreadable | None = None) -> str:
    if isinstance(live, Unreadable):
        return f"{address} cannot be read live any more ({live.why})"
    return f"{address} changed live since the plan was made"
