"""FBA Inventory v1: getInventorySummaries over the FBA quantity the store keeps per listing.

The sandbox models one number of FBA stock per listing (fulfillable units, changed only by
Amazon, never by the seller's API calls); inbound, reserved, researching and unfulfillable
stock are always 0. Only Marketplace granularity exists, for one marketplace per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.sandbox import listings, pagetoken
from engine.sandbox.account import Account, csv_values, invalid_input
from engine.sandbox.listing_reports import fnsku
from engine.sandbox.store import Listing

PAGE_SIZE = 50
MAX_SELLER_SKUS = 50


def _one(args: Mapping[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def _details(listing: Listing) -> dict[str, Any]:
    return {
        "fulfillableQuantity": listing.fba_quantity or 0,
        "inboundWorkingQuantity": 0,
        "inboundShippedQuantity": 0,
        "inboundReceivingQuantity": 0,
        "reservedQuantity": {
            "totalReservedQuantity": 0,
            "pendingCustomerOrderQuantity": 0,
            "pendingTransshipmentQuantity": 0,
            "fcProcessingQuantity": 0,
        },
        "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
        "unfulfillableQuantity": {
            "totalUnfulfillableQuantity": 0,
            "customerDamagedQuantity": 0,
            "warehouseDamagedQuantity": 0,
            "distributorDamagedQuantity": 0,
            "carrierDamagedQuantity": 0,
            "defectiveQuantity": 0,
            "expiredQuantity": 0,
        },
    }


def summary(listing: Listing, with_details: bool) -> dict[str, Any]:
    """An InventorySummary of one FBA listing."""
    result: dict[str, Any] = {
        "asin": listing.asin,
        "fnSku": fnsku(listing),
        "sellerSku": listing.sku,
        "condition": "NewItem",
        "lastUpdatedTime": listings.iso(listing.updated_at),
        "productName": listings.text(listing.attributes, "item_name") or "",
        "totalQuantity": listing.fba_quantity or 0,
    }
    if with_details:
        result["inventoryDetails"] = _details(listing)
    return result


def inventory_summaries(account: Account, args: Mapping[str, list[str]]) -> dict[str, Any]:
    """getInventorySummaries: FBA listings of one marketplace, 50 a page, filtered by
    sellerSkus (or sellerSku), or by startDateTime (changed since; SKU filters ignored)."""
    if _one(args, "granularityType") != "Marketplace":
        raise invalid_input("'granularityType' is required and must be Marketplace.")
    granularity_id = _one(args, "granularityId")
    mids = csv_values(args.get("marketplaceIds", []))
    if len(mids) != 1 or granularity_id != mids[0]:
        raise invalid_input(
            "Give exactly one 'marketplaceIds' value and the same id as 'granularityId'."
        )
    (marketplace,) = account.marketplaces(mids)
    details = (_one(args, "details") or "false").lower()
    if details not in ("true", "false"):
        raise invalid_input("'details' must be true or false.")
    skus = set(csv_values(args.get("sellerSkus", [])))
    if len(skus) > MAX_SELLER_SKUS:
        raise invalid_input(f"At most {MAX_SELLER_SKUS} 'sellerSkus' can be given.")
    single = _one(args, "sellerSku")
    if not skus and single:
        skus = {single}
    since_text = _one(args, "startDateTime")
    since = None if since_text is None else listings.parse_when(since_text)
    if since_text is not None and since is None:
        raise invalid_input(f"'startDateTime' must be an ISO 8601 date-time, got {since_text!r}.")
    digest = pagetoken.fingerprint(args, ignore=("nextToken",))
    tokens = account.page_tokens()
    offset = _offset(tokens, _one(args, "nextToken"), digest)
    account.process_due()
    with account.store.read() as tx:
        found = tx.listings(account.seller_id, [marketplace.marketplace_id])
    fba = [
        li
        for li in found
        if li.fba_quantity is not None
        and (li.updated_at >= since if since is not None else not skus or li.sku in skus)
    ]
    page = fba[offset : offset + PAGE_SIZE]
    result: dict[str, Any] = {
        "payload": {
            "granularity": {
                "granularityType": "Marketplace",
                "granularityId": marketplace.marketplace_id,
            },
            "inventorySummaries": [summary(li, details == "true") for li in page],
        }
    }
    if offset + PAGE_SIZE < len(fba):
        result["pagination"] = {"nextToken": tokens.encode({"o": offset + PAGE_SIZE, "q": digest})}
    return result


def _offset(tokens: pagetoken.Codec, token: str | None, digest: str) -> int:
    if not token:
        return 0
    try:
        state = tokens.decode(token)
        offset, query = int(state["o"]), state["q"]
    except pagetoken.TokenError as err:
        raise invalid_input(pagetoken.problem("nextToken", err)) from None
    except (ValueError, KeyError, TypeError):
        raise invalid_input("Invalid 'nextToken'.") from None
    if query != digest or offset < 0:
        raise invalid_input("Invalid 'nextToken': it belongs to a different query.")
    return offset
