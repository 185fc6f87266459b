"""approvals.yaml or approvals/*.yaml: reviewed exceptions to guardrail findings, each
scoped to marketplaces and SKUs, naming what it approves, and expiring.

A scope naming nothing real is a typo: the approval would silently approve nothing while its
reviewers believe it covers the change.
"""

from __future__ import annotations

from typing import Any

from engine.config.builders.context import BuildContext, sub
from engine.config.model import (
    Approval,
    ApprovalTarget,
    MarketplaceConfig,
    Origin,
    Product,
    SkuSelector,
)
from engine.config.yamlsafe import SourceFile


def build_approvals(
    ctx: BuildContext,
    srcs: list[SourceFile],
    products: dict[str, Product],
    marketplaces: dict[str, MarketplaceConfig],
) -> list[Approval]:
    """The approvals of `srcs`, their scopes checked against the catalog and marketplaces."""
    approvals = []
    for src in srcs:
        for i, item in enumerate(src.data["approvals"]):
            origin = Origin(src, ("approvals", i))
            scope = item["scope"]
            scope_path = (*origin.path, "scope")
            ctx.enabled(
                src, (*scope_path, "marketplaces"), scope.get("marketplaces", []), marketplaces
            )
            ctx.selector(src, (*scope_path, "skus"), scope.get("skus", []), products)
            expires = ctx.timestamp(item["expires"], sub(origin, "expires"))
            target = _approval_target(ctx, item["approves"], sub(origin, "approves"))
            if expires is None or target is None:
                continue
            approvals.append(
                Approval(
                    rule=item["rule"],
                    marketplaces=tuple(scope["marketplaces"]) if "marketplaces" in scope else None,
                    skus=SkuSelector.of(scope["skus"]) if "skus" in scope else None,
                    reason=item["reason"],
                    approver=item["approver"],
                    expires=expires,
                    origin=origin,
                    target=target,
                )
            )
    return approvals


def _approval_target(
    ctx: BuildContext, approves: dict[str, Any], origin: Origin
) -> ApprovalTarget | None:
    """`approves` names one thing: a value, a fingerprint, or a range (min and/or max,
    min not above max). A mix would leave a reader guessing which one counts."""
    kinds = [k for k in ("value", "fingerprint") if k in approves]
    ranged = [k for k in ("min", "max") if k in approves]
    if len(kinds) + (1 if ranged else 0) != 1:
        ctx.errors.append(
            origin.error(
                "give exactly one of value, fingerprint, or min and/or max "
                f"(got {', '.join(sorted(approves))})"
            )
        )
        return None
    bounds = {k: ctx.decimal(approves[k], sub(origin, k)) for k in ranged}
    if any(b is None for b in bounds.values()):
        return None
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None and low > high:
        ctx.errors.append(origin.error(f"min {low} is above max {high}"))
        return None
    if ranged:
        return ApprovalTarget(minimum=low, maximum=high)
    return ApprovalTarget.from_dict(approves)
