"""The Tokens API 2021-03-01: restricted data tokens (RDTs) for operations that return PII.

Amazon's model (amzn/selling-partner-api-models, models/tokens-api-model/tokens_2021-03-01.json,
not among ../shared/spapi-models): `POST /tokens/2021-03-01/restrictedDataToken`
(createRestrictedDataToken, 1 request a second, burst 10) takes `restrictedResources` (at
most 50, each an HTTP `method` of GET, PUT, POST or DELETE, a `path`, and for getOrder,
getOrders and getOrderItems the `dataElements` buyerInfo, shippingAddress or
buyerTaxInformation) and an optional `targetApplication`; it answers `restrictedDataToken`
and `expiresIn` (seconds). The RDT goes in `x-amz-access-token` of calls to those restricted
resources only ("Use the RDT returned here as the access token in subsequent calls to the
corresponding restricted operations"; Tokens API use case guide,
https://developer-docs.amazon.com/sp-api/docs/tokens-api-use-case-guide). A path names one
resource (`/orders/v0/orders/123-1234567-1234567/address`) or, with `{orderId}` in place of
the id, every one of that kind.

The sandbox's restricted operations are the Orders v0 ones that return PII: getOrderAddress
and getOrderBuyerInfo. Called with an ordinary LWA access token, they answer 403, as Amazon's
restricted operations do. An RDT lasts an hour of real time, like an access token, and is
stored hashed.

sellersync's own clients need no RDT: the backend reads from orders only what Amazon returns
with an ordinary access token (ShippingAddress's CountryCode; "Address is PII, which can
only be accessed using a Restricted Data Token", while getOrders returns City, StateOrRegion,
PostalCode and CountryCode without one: https://github.com/amzn/selling-partner-api-models/issues/314).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core import jsonio
from engine.sandbox.account import ApiError, invalid_input
from engine.sandbox.store import Store

RDT_PREFIX = "Atz.sprdt|"
RDT_LIFETIME_SECONDS = 3600
MAX_RESOURCES = 50
METHODS = ("GET", "PUT", "POST", "DELETE")
DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")
# The sandbox's restricted resources: (method, path pattern), and the Orders operations that
# return PII only with an RDT naming dataElements (they work with an access token too).
RESTRICTED = (
    ("GET", "/orders/v0/orders/{orderId}/address"),
    ("GET", "/orders/v0/orders/{orderId}/buyerInfo"),
)
WITH_DATA_ELEMENTS = (
    ("GET", "/orders/v0/orders"),
    ("GET", "/orders/v0/orders/{orderId}"),
    ("GET", "/orders/v0/orders/{orderId}/orderItems"),
)
RESTRICTED_OPERATIONS = frozenset({"getOrderAddress", "getOrderBuyerInfo"})


@dataclass(frozen=True, slots=True)
class Resource:
    method: str
    path: str
    data_elements: tuple[str, ...] = ()

    def covers(self, method: str, path: str) -> bool:
        """Whether this resource is the request's: same method, and the path equal, or
        matching with `{name}` standing for one path segment."""
        if method != self.method:
            return False
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^/}]+\})", self.path)
        )
        return re.fullmatch(pattern, path) is not None


def _kind(resource: Resource) -> tuple[str, str] | None:
    """The restricted resource kind (method, pattern) `resource` is one of, or None."""
    for method, pattern in (*RESTRICTED, *WITH_DATA_ELEMENTS):
        if Resource(method, pattern).covers(resource.method, resource.path):
            return method, pattern
    return None


def parse_request(body: object) -> list[Resource]:
    """createRestrictedDataToken's body as resources, or 400 InvalidInput as Amazon says."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    target = body.get("targetApplication")
    if target is not None and not isinstance(target, str):
        raise invalid_input("'targetApplication' must be a string.")
    items = body.get("restrictedResources")
    if not isinstance(items, list) or not items:
        raise invalid_input("'restrictedResources' is required: a list of restricted resources.")
    if len(items) > MAX_RESOURCES:
        raise invalid_input(f"'restrictedResources' holds at most {MAX_RESOURCES} resources.")
    resources = []
    for n, item in enumerate(items):
        where = f"restrictedResources[{n}]"
        if not isinstance(item, dict):
            raise invalid_input(f"'{where}' must be an object.")
        method, path = item.get("method"), item.get("path")
        if method not in METHODS:
            raise invalid_input(f"'{where}.method' must be one of {', '.join(METHODS)}.")
        if not isinstance(path, str) or not path.startswith("/"):
            raise invalid_input(f"'{where}.path' must be a path such as /orders/v0/orders.")
        elements = item.get("dataElements", [])
        if not isinstance(elements, list) or any(e not in DATA_ELEMENTS for e in elements):
            raise invalid_input(f"'{where}.dataElements' takes only {', '.join(DATA_ELEMENTS)}.")
        resource = Resource(method, path, tuple(elements))
        kind = _kind(resource)
        if kind is None:
            raise invalid_input(f"'{where}': {method} {path} is not a restricted resource.")
        if kind in WITH_DATA_ELEMENTS and not elements:
            raise invalid_input(f"'{where}.dataElements' is required for {method} {path}.")
        resources.append(resource)
    return resources


class RestrictedTokens:
    """Issue RDTs and check them (stored hashed in the sandbox's state file)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, body: object, wall_now: float) -> dict[str, Any]:
        resources = parse_request(body)
        token = RDT_PREFIX + secrets.token_urlsafe(32)
        saved = jsonio.dumps(
            [
                {"method": r.method, "path": r.path, "dataElements": r.data_elements}
                for r in resources
            ]
        )
        with self.store.write() as tx:
            tx.add_restricted_token(token, wall_now + RDT_LIFETIME_SECONDS, saved, wall_now)
        return {"restrictedDataToken": token, "expiresIn": RDT_LIFETIME_SECONDS}

    def resources(self, token: str, wall_now: float) -> Sequence[Resource] | None:
        """What a valid RDT grants; None for a token that is no RDT, or expired."""
        if not token.startswith(RDT_PREFIX):
            return None
        with self.store.read() as tx:
            found = tx.restricted_token(token)
        if found is None or wall_now >= found[0]:
            return None
        return [
            Resource(r["method"], r["path"], tuple(r["dataElements"]))
            for r in _records(jsonio.loads(found[1]))
        ]

    def authorize(self, token: str, method: str, path: str, wall_now: float) -> bool | None:
        """None: `token` is no (valid) RDT. Else whether it grants `method path`."""
        granted = self.resources(token, wall_now)
        if granted is None:
            return None
        return any(r.covers(method, path) for r in granted)


def _records(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise ApiError(500, "InternalFailure", "A stored restricted data token is unreadable.")
    return [r for r in value if isinstance(r, dict)]
