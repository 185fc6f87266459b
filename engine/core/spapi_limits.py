"""Amazon's published SP-API usage plans: requests per second sustained and burst, per operation.

One table for both sides of the wire: the sandbox enforces it (engine.sandbox.ratelimit) and
the backend paces itself by it (engine.live.throttle) until Amazon's `x-amzn-RateLimit-Limit`
header says otherwise. The values are SPAPI-NOTES.md's ("Operations, paths, rate limits").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Limit:
    """`rate` requests per second sustained, `burst` at once; `header` is how Amazon
    reports the rate in `x-amzn-RateLimit-Limit`."""

    rate: float
    burst: int
    header: str


def _limit(rate: str, burst: int) -> Limit:
    return Limit(rate=float(rate), burst=burst, header=rate)


GET_ORDER_2026 = "getOrder@2026-01-01"

# Operation name -> published usage plan (getFeeds, cancelFeed, getReports and cancelReport
# from the models' usage-plan tables).
LIMITS: dict[str, Limit] = {
    "getListingsItem": _limit("5.0", 10),
    "putListingsItem": _limit("5.0", 10),
    "patchListingsItem": _limit("5.0", 5),
    "deleteListingsItem": _limit("5.0", 5),
    "searchListingsItems": _limit("5.0", 5),
    "createFeedDocument": _limit("0.5", 15),
    "createFeed": _limit("0.0083", 15),
    "getFeed": _limit("2.0", 15),
    "getFeeds": _limit("0.0222", 10),
    "cancelFeed": _limit("2.0", 15),
    "getFeedDocument": _limit("0.0222", 10),
    "createReport": _limit("0.0167", 15),
    "getReport": _limit("2.0", 15),
    "getReports": _limit("0.0222", 10),
    "cancelReport": _limit("0.0222", 10),
    "getReportDocument": _limit("0.0167", 15),
    "getOrders": _limit("0.0167", 20),
    "getOrder": _limit("0.5", 30),
    "getOrderItems": _limit("0.5", 30),
    "getOrderAddress": _limit("0.5", 30),
    "getOrderBuyerInfo": _limit("0.5", 30),
    # Tokens 2021-03-01 (tokens_2021-03-01.json's usage-plan table: 1 a second, burst 10).
    "createRestrictedDataToken": _limit("1.0", 10),
    # Orders 2026-01-01 (the usage-plan tables of orders_2026-01-01.json). Its getOrder has
    # the operationId of v0's, so it is named with its version here and in the call log.
    "searchOrders": _limit("0.0056", 20),
    GET_ORDER_2026: _limit("0.5", 30),
    "getInventorySummaries": _limit("2.0", 2),
    "getMarketplaceParticipations": _limit("0.016", 15),
    "getMessagingActionsForOrder": _limit("1.0", 5),
    "createUnexpectedProblem": _limit("1.0", 5),
    # Notifications v1 (the model's usage-plan tables: 1 request a second, burst 5).
    "createDestination": _limit("1.0", 5),
    "getDestinations": _limit("1.0", 5),
    "createSubscription": _limit("1.0", 5),
    "getSubscription": _limit("1.0", 5),
    "deleteSubscriptionById": _limit("1.0", 5),
    # Product Type Definitions 2020-09-01 (the model's usage-plan tables: 5 a second, burst 10).
    "getDefinitionsProductType": _limit("5.0", 10),
    "searchDefinitionsProductTypes": _limit("5.0", 10),
}


# Operation name -> the published limit per *application*: requests per second over every
# selling partner one SP-API application serves, on top of each account's limit above.
# Sources: "Listings Items API Rate Limits", column "Per-application rate limit"
# (https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits), and
# "Usage Plans and Rate Limits"
# (https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits): a limit "might
# depend on the selling partner account and also on the application ... Requests are
# rate-limited by whichever threshold you reach first". `x-amzn-RateLimit-Limit` does not
# report these, so nothing adapts them at run time. Amazon publishes no burst per
# application; the table's one Burst column (5) is used for it too, the smallest burst of
# either page. Used by engine.state.app_quota, shared by every process of the application.
# The same table's "Limits for specific cases": a patchListingsItem whose update "contain[s]
# product data attributes (for example, item_name)" is limited to 100 requests per application
# per second. Such a patch takes a token of PRODUCT_DATA_PATCH as well as of patchListingsItem.
PRODUCT_DATA_PATCH = "patchListingsItem:productData"
# The attributes of an offer and its quantity: a patch that touches any other attribute
# updates product data.
OFFER_ATTRIBUTES = frozenset({"purchasable_offer", "fulfillment_availability"})
APP_LIMITS: dict[str, Limit] = {
    "getListingsItem": _limit("100", 5),
    "putListingsItem": _limit("100", 5),
    "patchListingsItem": _limit("500", 5),
    PRODUCT_DATA_PATCH: _limit("100", 5),
    "deleteListingsItem": _limit("100", 5),
}

# Amazon's 429 message when the application's limit, not the seller's, was exceeded: "The
# frequency of requests was greater than what is allowed for the application." (the
# "Throttle error messages" table of the Listings Items API Rate Limits page above).
APPLICATION_THROTTLED = "allowed for the application"
# ...and for the product-data case: "... greater than what is allowed for product data."
PRODUCT_DATA_THROTTLED = "allowed for product data"


def updates_product_data(patches: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a patchListingsItem's `patches` update product data (any attribute but the
    offer's and quantity's), so that it also counts against PRODUCT_DATA_PATCH. list_price is
    counted as product data: when in doubt, the smaller limit."""
    offer_paths = {f"/attributes/{name}" for name in OFFER_ATTRIBUTES}
    return any(patch.get("path") not in offer_paths for patch in patches)
