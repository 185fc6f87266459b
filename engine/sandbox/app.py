"""The sandbox's HTTP face: a werkzeug WSGI app speaking SP-API, and a local server for it.

Every SP-API response carries `x-amzn-RequestId` and `x-amzn-RateLimit-Limit`; every error
is JSON `{"errors": [{"code", "message", "details"}]}` (except the deliberate non-JSON
gateway fault). The LWA endpoint answers OAuth-style errors (`error`, `error_description`)
as Login with Amazon does.

python-amazon-sp-api quirks tolerated: it sends `Host: <endpoint minus 8 chars>` (routing
here never looks at Host), adds `MarketplaceId`/`MarketplaceIds`/`marketplace_ids` query keys
(ignored), and for putListingsItem puts `marketplaceIds` in the JSON body instead of the
query when the caller does not pass them (used as a fallback; extra body keys ignored).

The server binds 127.0.0.1 only: the sandbox accepts fixed demo credentials and must never
be reachable from another machine.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from engine.core import jsonio
from engine.core.spapi_limits import GET_ORDER_2026, PRODUCT_DATA_PATCH, updates_product_data
from engine.sandbox import bulk_http, faults, messaging, orders, orders_2026, product_types
from engine.sandbox.account import (
    TOKEN_LIFETIME_SECONDS,
    Account,
    ApiError,
    csv_values,
    invalid_input,
)
from engine.sandbox.faults import FaultInjector, drop_connection
from engine.sandbox.notifications import Notifications
from engine.sandbox.ratelimit import SELLER, RateLimiter
from engine.sandbox.tokens import RDT_PREFIX, RESTRICTED_OPERATIONS, RestrictedTokens

log = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LwaCredentials:
    """The LWA app and refresh token the sandbox accepts. They are published demo values,
    not secrets, but they are still never logged."""

    client_id: str = "amzn1.application-oa2-client.sellersync-sandbox"
    client_secret: str = "sellersync-sandbox-client-secret"
    refresh_token: str = "Atzr|sellersync-sandbox-refresh-token"

    def as_spapi_credentials(self) -> dict[str, str]:
        """The credentials dict python-amazon-sp-api clients take."""
        return {
            "lwa_app_id": self.client_id,
            "lwa_client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


SANDBOX_CREDENTIALS = LwaCredentials()
# Where the sandbox answers Login with Amazon's token exchange (Amazon's: api.amazon.com).
LWA_TOKEN_PATH = "/auth/o2/token"


class CannotListen(OSError):
    """The server cannot bind its port on 127.0.0.1 (most often: another program has it)."""

    def __init__(self, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on port {port} of {LOCALHOST}: {reason}")
        self.port = port


_LISTING = "/listings/2021-08-01/items/<seller_id>/<path:sku>"
_MESSAGING = "/messaging/v1/orders/<amazon_order_id>"
_DESTINATIONS = "/notifications/v1/destinations"
_DEFINITIONS = "/definitions/2020-09-01/productTypes"
_SUBSCRIPTION = "/notifications/v1/subscriptions/<notification_type>"
# Grantless operations take a token from the client_credentials grant with this scope.
NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
# The Messaging API answers HAL (its model `produces` application/hal+json).
_HAL_OPERATIONS = {"getMessagingActionsForOrder", "createUnexpectedProblem"}
URL_MAP = Map(
    [
        Rule("/auth/o2/token", methods=["POST"], endpoint="lwaToken"),
        Rule(
            "/sellers/v1/marketplaceParticipations",
            methods=["GET"],
            endpoint="getMarketplaceParticipations",
        ),
        Rule(
            "/listings/2021-08-01/items/<seller_id>",
            methods=["GET"],
            endpoint="searchListingsItems",
        ),
        Rule(_LISTING, methods=["GET"], endpoint="getListingsItem"),
        Rule(_LISTING, methods=["PUT"], endpoint="putListingsItem"),
        Rule(_LISTING, methods=["PATCH"], endpoint="patchListingsItem"),
        Rule(_LISTING, methods=["DELETE"], endpoint="deleteListingsItem"),
        Rule("/orders/v0/orders", methods=["GET"], endpoint="getOrders"),
        Rule("/orders/v0/orders/<order_id>", methods=["GET"], endpoint="getOrder"),
        Rule("/orders/v0/orders/<order_id>/orderItems", methods=["GET"], endpoint="getOrderItems"),
        Rule("/orders/2026-01-01/orders", methods=["GET"], endpoint="searchOrders"),
        Rule("/orders/2026-01-01/orders/<order_id>", methods=["GET"], endpoint=GET_ORDER_2026),
        Rule("/orders/v0/orders/<order_id>/address", methods=["GET"], endpoint="getOrderAddress"),
        Rule(
            "/orders/v0/orders/<order_id>/buyerInfo", methods=["GET"], endpoint="getOrderBuyerInfo"
        ),
        Rule(
            "/tokens/2021-03-01/restrictedDataToken",
            methods=["POST"],
            endpoint="createRestrictedDataToken",
        ),
        Rule(_MESSAGING, methods=["GET"], endpoint="getMessagingActionsForOrder"),
        Rule(
            _MESSAGING + "/messages/unexpectedProblem",
            methods=["POST"],
            endpoint="createUnexpectedProblem",
        ),
        Rule(_DESTINATIONS, methods=["POST"], endpoint="createDestination"),
        Rule(_DESTINATIONS, methods=["GET"], endpoint="getDestinations"),
        Rule(_SUBSCRIPTION, methods=["POST"], endpoint="createSubscription"),
        Rule(_SUBSCRIPTION, methods=["GET"], endpoint="getSubscription"),
        Rule(
            _SUBSCRIPTION + "/<subscription_id>",
            methods=["DELETE"],
            endpoint="deleteSubscriptionById",
        ),
        Rule(_DEFINITIONS, methods=["GET"], endpoint="searchDefinitionsProductTypes"),
        Rule(
            _DEFINITIONS + "/<productType>", methods=["GET"], endpoint="getDefinitionsProductType"
        ),
        Rule(
            product_types.SCHEMA_PATH + "<product_type>/<version>/<requirements>/<enforced>.json",
            methods=["GET"],
            endpoint=product_types.SCHEMA_URL,
        ),
        *bulk_http.RULES,
    ],
    strict_slashes=False,
    merge_slashes=False,
)

_GATEWAY_PAGES = {
    502: "<html><head><title>502 Bad Gateway</title></head><body><center>"
    "<h1>502 Bad Gateway</h1></center></body></html>\n",
    504: "<html><head><title>504 Gateway Time-out</title></head><body><center>"
    "<h1>504 Gateway Time-out</h1></center></body></html>\n",
}
_SERVER_ERRORS = {
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


# What LWA says with each error the token endpoint fault answers (engine.sandbox.faults).
_TOKEN_REFUSALS = {
    "server_error": "The authorization server encountered an unexpected condition.",
    "temporarily_unavailable": "The authorization server is temporarily unavailable.",
    "invalid_grant": "The request has an invalid grant parameter: refresh_token.",
}


def _token_parameters(request: Request) -> Mapping[str, str] | None:
    """The token request's parameters: a form (what Amazon's guide shows) or a JSON object,
    which Login with Amazon accepts too and which clients send (axios posting an object:
    https://github.com/amzn/selling-partner-api-docs/issues/143; Faraday `.to_json` with
    `Content-Type: application/json`: https://github.com/ericcj/amz_sp_api/issues/17).
    None: a JSON body that is not an object of strings ("Malformed request", as LWA says in
    https://github.com/amzn/selling-partner-api-docs/issues/1390)."""
    if request.mimetype != "application/json":
        return request.form
    try:
        body = jsonio.loads(request.get_data(cache=True) or b"")
    except jsonio.JSONError:
        return None
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        return None
    return body


# Amazon's 429 messages by the bucket that was empty: the selling partner's, the application's
# for the operation, and the application's for product-data patches ("Throttle error
# messages" of https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits;
# engine.live.invoke tells them apart by APPLICATION_THROTTLED / PRODUCT_DATA_THROTTLED).
_THROTTLE_MESSAGES = {
    SELLER: "You exceeded your quota for the requested resource.",
    PRODUCT_DATA_PATCH: "The frequency of requests was greater than what is allowed for "
    "product data.",
}
_APPLICATION_MESSAGE = (
    "The frequency of requests was greater than what is allowed for the application."
)


def _quota_exceeded(bucket: str = SELLER) -> ApiError:
    return ApiError(429, "QuotaExceeded", _THROTTLE_MESSAGES.get(bucket, _APPLICATION_MESSAGE))


class SandboxApp:
    """The WSGI application. Thread-safe: werkzeug serves each connection in a thread."""

    def __init__(
        self,
        account: Account,
        limiter: RateLimiter,
        faults: FaultInjector,
        *,
        credentials: LwaCredentials = SANDBOX_CREDENTIALS,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        notifications: Notifications | None = None,
        **bulk_options: Any,
    ) -> None:
        self.account = account
        self.notifications = notifications or Notifications(account)
        self.limiter = limiter
        self.faults = faults
        self.credentials = credentials
        self._wall = wall
        self._sleep = sleep
        self._handlers: dict[str, Callable[..., tuple[int, dict[str, Any]]]] = {
            "getMarketplaceParticipations": self._participations,
            "searchListingsItems": self._search,
            "getListingsItem": self._get,
            "putListingsItem": self._put,
            "patchListingsItem": self._patch,
            "deleteListingsItem": self._delete,
            "getOrders": self._orders,
            "getOrder": self._order,
            "getOrderItems": self._order_items,
            "searchOrders": lambda r: (200, orders_2026.search_orders(self.account, _args(r))),
            GET_ORDER_2026: lambda r, order_id: (
                200,
                orders_2026.get_order(self.account, order_id, _args(r)),
            ),
            "getOrderAddress": lambda r, order_id: (
                200,
                orders.get_order_address(self.account, order_id),
            ),
            "getOrderBuyerInfo": lambda r, order_id: (
                200,
                orders.get_order_buyer_info(self.account, order_id),
            ),
            "createRestrictedDataToken": lambda r: (
                200,
                self.restricted.create(self._body(r), self._wall()),
            ),
            "getMessagingActionsForOrder": self._messaging_actions,
            "createUnexpectedProblem": self._unexpected_problem,
            "createDestination": lambda r: (
                200,
                self.notifications.create_destination(self._body(r)),
            ),
            "getDestinations": lambda r: (200, self.notifications.get_destinations()),
            "createSubscription": lambda r, notification_type: (
                200,
                self.notifications.create_subscription(notification_type, self._body(r)),
            ),
            "getSubscription": lambda r, notification_type: (
                200,
                self.notifications.get_subscription(notification_type),
            ),
            "deleteSubscriptionById": lambda r, notification_type, subscription_id: (
                200,
                self.notifications.delete_subscription(notification_type, subscription_id),
            ),
            "getDefinitionsProductType": self._definition,
            "searchDefinitionsProductTypes": self._search_definitions,
        }
        self.restricted = RestrictedTokens(account.store)
        self.bulk = bulk_http.BulkApi(account, faults, self._body, wall=wall, **bulk_options)
        self._handlers.update(self.bulk.handlers())

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        adapter = URL_MAP.bind("sandbox", path_info=request.path)
        try:
            operation, values = adapter.match(method=request.method)
        except (NotFound, MethodNotAllowed) as err:
            return self._json(err.code or 404, _routing_error(err).body(), request_id, None)
        except HTTPException as err:  # e.g. a redirect werkzeug would suggest
            return self._json(404, ApiError(404, "NotFound", str(err)).body(), request_id, None)
        if operation == "lwaToken":
            return self._token(request, request_id)
        if operation == bulk_http.DOCUMENT_URL:
            return self.bulk.document_response(request, **values)
        if operation == product_types.SCHEMA_URL:
            return self._schema_document(request_id, **values)
        limit = self.limiter.header(operation)
        mimetype = "application/hal+json" if operation in _HAL_OPERATIONS else "application/json"
        try:
            self._authorize(request, operation)
            down = faults.region_down(self.faults, self._named_marketplaces(operation, request))
            if down is not None:
                raise ApiError(503, "ServiceUnavailable", f"The {down} endpoint is unavailable.")
            outcome = self.faults.decide(operation)
            if outcome.delay:
                self._sleep(outcome.delay)
            if outcome.kind == "gateway" and outcome.status is not None:
                return self._gateway(outcome.status, request_id, limit)
            if outcome.kind == "server_error" and outcome.status is not None:
                code, message = _SERVER_ERRORS[outcome.status]
                raise ApiError(outcome.status, code, message)
            if outcome.kind == "throttle":
                raise _quota_exceeded()
            empty = self.limiter.admit(
                operation, self.credentials.client_id, self._app_quotas(operation, request)
            )
            if empty is not None:
                raise _quota_exceeded(empty)
            if outcome.kind == "drop":
                drop_connection(request.environ)
            status, body = self._handlers[operation](request, **values)
        except ApiError as err:
            return self._json(err.status, err.body(), request_id, limit, mimetype)
        lost = self.faults.after(operation)
        if lost.kind == "drop":
            drop_connection(request.environ)
        if lost.kind == "lost_answer" and lost.status is not None:
            if lost.status in _GATEWAY_PAGES:
                return self._gateway(lost.status, request_id, limit)
            code, message = _SERVER_ERRORS[lost.status]
            return self._json(
                lost.status, ApiError(lost.status, code, message).body(), request_id, limit
            )
        response = self._json(status, body, request_id, limit, mimetype)
        broken = faults.mangle_json(self.faults, operation, response.get_data(as_text=True))
        if broken is not None:  # the call took effect; only its answer is spoilt
            response.set_data(broken)
        return response

    @staticmethod
    def _app_quotas(operation: str, request: Request) -> tuple[str, ...]:
        """The application's further buckets a call takes a token of: PRODUCT_DATA_PATCH for
        a patch that updates product data (a body that is not a list of patches is refused
        later, and counts as the operation only)."""
        if operation != "patchListingsItem":
            return ()
        try:
            body = jsonio.loads(request.get_data(cache=True) or b"{}")
        except jsonio.JSONError:
            return ()
        patches = body.get("patches") if isinstance(body, dict) else None
        if not isinstance(patches, list) or not all(isinstance(p, dict) for p in patches):
            return ()
        return (PRODUCT_DATA_PATCH,) if updates_product_data(patches) else ()

    @staticmethod
    def _named_marketplaces(operation: str, request: Request) -> list[str]:
        """The marketplaces a call names: its query, or the body of createFeed and
        createReport (the region_down fault goes by them)."""
        ids = csv_values(request.args.getlist("marketplaceIds"))
        if not ids and operation in ("createFeed", "createReport"):
            try:
                body = jsonio.loads(request.get_data(cache=True) or b"{}")
            except jsonio.JSONError:
                return []
            named = body.get("marketplaceIds") if isinstance(body, dict) else None
            ids = [str(v) for v in named] if isinstance(named, list) else []
        return ids

    def _authorize(self, request: Request, operation: str) -> None:
        token = request.headers.get("x-amz-access-token")
        if not token:
            raise ApiError(
                401,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The request has no x-amz-access-token header.",
            )
        if token.startswith(RDT_PREFIX):  # a restricted data token (engine.sandbox.tokens)
            granted = self.restricted.authorize(token, request.method, request.path, self._wall())
            if granted is None:
                raise ApiError(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The restricted data token you provided is expired, revoked or invalid.",
                )
            if not granted:
                raise ApiError(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    f"The restricted data token does not grant {request.method} {request.path}.",
                )
            return
        if operation in RESTRICTED_OPERATIONS:
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                f"{operation} returns restricted data: call it with a restricted data token "
                "(createRestrictedDataToken).",
            )
        state = self.account.token_state(token, self._wall())
        expires = self.account.token_expiry(token)
        if state == "valid" and expires is not None:
            issued = expires - TOKEN_LIFETIME_SECONDS
            state = faults.token_invalidation(self.faults, issued) or state
        if state == "expired":
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            )
        if state != "valid":
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
            )

    @staticmethod
    def _json(
        status: int,
        body: Any,
        request_id: str,
        limit: str | None,
        mimetype: str = "application/json",
    ) -> Response:
        """`body` None: an empty success (cancelFeed / cancelReport answer no body)."""
        text = "" if body is None else jsonio.dumps(body)
        response = Response(text, status=status, mimetype=mimetype)
        response.headers["x-amzn-RequestId"] = request_id
        if limit is not None:
            response.headers["x-amzn-RateLimit-Limit"] = limit
        return response

    @staticmethod
    def _gateway(status: int, request_id: str, limit: str) -> Response:
        response = Response(_GATEWAY_PAGES[status], status=status, mimetype="text/html")
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["x-amzn-RateLimit-Limit"] = limit
        return response

    # -- LWA --------------------------------------------------------------------------------
    def _token(self, request: Request, request_id: str) -> Response:
        def error(status: int, code: str, description: str) -> Response:
            return self._json(
                status, {"error": code, "error_description": description}, request_id, None
            )

        form = _token_parameters(request)
        if form is None:
            return error(400, "invalid_request", "Malformed request")
        grant = form.get("grant_type")

        if grant == "client_credentials":
            return self._grantless_token(request_id, form, error)
        if grant != "refresh_token":
            return error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server; "
                "the sandbox supports refresh_token and client_credentials.",
            )
        missing = [k for k in ("refresh_token", "client_id", "client_secret") if not form.get(k)]
        if missing:
            return error(400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}.")
        if (
            form["client_id"] != self.credentials.client_id
            or form["client_secret"] != self.credentials.client_secret
        ):
            return error(401, "invalid_client", "Client authentication failed.")
        if form["refresh_token"] != self.credentials.refresh_token:
            return error(
                400, "invalid_grant", "The request has an invalid grant parameter: refresh_token."
            )
        refused = faults.token_endpoint_refusal(self.faults)
        if refused is not None:
            status, code = refused
            return error(status, code, _TOKEN_REFUSALS[code])
        token = self.account.issue_token(self._wall())
        body = {
            "access_token": token,
            "refresh_token": self.credentials.refresh_token,
            "token_type": "bearer",
            "expires_in": 3600,
        }
        response = self._json(200, body, request_id, None)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _grantless_token(
        self, request_id: str, form: Any, error: Callable[[int, str, str], Response]
    ) -> Response:
        """Login with Amazon's client_credentials grant, for grantless operations (the
        Notifications API's destinations): the app's credentials and a scope, no seller."""
        if (
            form.get("client_id") != self.credentials.client_id
            or form.get("client_secret") != self.credentials.client_secret
        ):
            return error(401, "invalid_client", "Client authentication failed.")
        if form.get("scope") != NOTIFICATIONS_SCOPE:
            return error(400, "invalid_scope", f"The sandbox grants {NOTIFICATIONS_SCOPE} only.")
        body = {
            "access_token": self.account.issue_token(self._wall()),
            "scope": NOTIFICATIONS_SCOPE,
            "token_type": "bearer",
            "expires_in": 3600,
        }
        response = self._json(200, body, request_id, None)
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- SP-API operations ------------------------------------------------------------------
    @staticmethod
    def _marketplace_ids(request: Request, body: object = None) -> list[str]:
        ids = csv_values(request.args.getlist("marketplaceIds"))
        if not ids and isinstance(body, dict):
            fallback = body.get("marketplaceIds")
            if isinstance(fallback, str):
                ids = csv_values([fallback])
            elif isinstance(fallback, list):
                ids = csv_values([str(v) for v in fallback])
        return ids

    @staticmethod
    def _body(request: Request) -> object:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge", "The request body is larger than 10 MB.")
        data = request.get_data(cache=False)
        if not data:
            raise invalid_input("The request body is required.")
        try:
            return jsonio.loads(data)
        except jsonio.JSONError as err:
            raise invalid_input("The request body is not valid JSON.", str(err)) from None

    def _participations(self, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, self.account.participations()

    def _search(self, request: Request, seller_id: str) -> tuple[int, dict[str, Any]]:
        return 200, self.account.search(seller_id, self._marketplace_ids(request), _args(request))

    def _get(self, request: Request, seller_id: str, sku: str) -> tuple[int, dict[str, Any]]:
        included = csv_values(request.args.getlist("includedData"))
        return 200, self.account.get_item(seller_id, sku, self._marketplace_ids(request), included)

    def _put(self, request: Request, seller_id: str, sku: str) -> tuple[int, dict[str, Any]]:
        body = self._body(request)
        return 200, self.account.put_item(
            seller_id,
            sku,
            self._marketplace_ids(request, body),
            body,
            mode=request.args.get("mode"),
            included=csv_values(request.args.getlist("includedData")),
        )

    def _patch(self, request: Request, seller_id: str, sku: str) -> tuple[int, dict[str, Any]]:
        body = self._body(request)
        return 200, self.account.patch_item(
            seller_id,
            sku,
            self._marketplace_ids(request),
            body,
            mode=request.args.get("mode"),
            included=csv_values(request.args.getlist("includedData")),
        )

    def _delete(self, request: Request, seller_id: str, sku: str) -> tuple[int, dict[str, Any]]:
        return 200, self.account.delete_item(seller_id, sku, self._marketplace_ids(request))

    def _orders(self, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, orders.get_orders(self.account, _args(request))

    def _order(self, request: Request, order_id: str) -> tuple[int, dict[str, Any]]:
        return 200, orders.get_order(self.account, order_id)

    def _order_items(self, request: Request, order_id: str) -> tuple[int, dict[str, Any]]:
        return 200, orders.get_order_items(self.account, order_id)

    def _messaging_actions(
        self, request: Request, amazon_order_id: str
    ) -> tuple[int, dict[str, Any]]:
        ids = self._marketplace_ids(request)
        return 200, messaging.actions_for_order(self.account, amazon_order_id, ids)

    def _unexpected_problem(
        self, request: Request, amazon_order_id: str
    ) -> tuple[int, dict[str, Any]]:
        ids, body = self._marketplace_ids(request), self._body(request)
        return 201, messaging.create_unexpected_problem(self.account, amazon_order_id, ids, body)

    # -- Product Type Definitions ---------------------------------------------------------
    def _definition(self, request: Request, productType: str) -> tuple[int, dict[str, Any]]:
        ids = self._marketplace_ids(request)
        self.account.marketplaces(ids)
        base = f"http://{request.environ['SERVER_NAME']}:{request.environ['SERVER_PORT']}"
        try:
            body = product_types.get_definition(productType, ids, _args(request), base)
        except product_types.UnknownProductType:
            raise ApiError(
                404, "NotFound", f"No product type definition for {productType!r}."
            ) from None
        except ValueError as err:
            raise invalid_input(str(err)) from None
        return 200, body

    def _search_definitions(self, request: Request) -> tuple[int, dict[str, Any]]:
        ids = self._marketplace_ids(request)
        self.account.marketplaces(ids)
        try:
            return 200, product_types.search(ids, _args(request))
        except ValueError as err:
            raise invalid_input(str(err)) from None

    def _schema_document(
        self, request_id: str, product_type: str, version: str, requirements: str, enforced: str
    ) -> Response:
        """The schema link's document: no access token and no rate limit (it stands in for
        Amazon's presigned schema URL)."""
        try:
            if version != product_types.definition(product_type).version:
                raise product_types.UnknownProductType(product_type)
            data = product_types.schema_bytes(product_type, requirements, enforced)
        except (product_types.UnknownProductType, ValueError):
            return self._json(404, _routing_error(NotFound()).body(), request_id, None)
        response = Response(data, status=200, mimetype="application/json")
        response.headers["x-amzn-RequestId"] = request_id
        return response


def _args(request: Request) -> dict[str, list[str]]:
    return {key: request.args.getlist(key) for key in request.args}


def _routing_error(err: HTTPException) -> ApiError:
    if isinstance(err, MethodNotAllowed):
        return ApiError(405, "MethodNotAllowed", "The method is not allowed for this resource.")
    return ApiError(404, "NotFound", "The requested resource does not exist in the sandbox.")


class _QuietHandler(WSGIRequestHandler):
    """Keep-alive HTTP/1.1 without an access-log line per request (the benchmark makes
    thousands; nothing secret is in them, but they would drown the real output)."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s", self.requestline, code)


class SandboxServer:
    """werkzeug's threaded server on 127.0.0.1, in a background thread.

    `with SandboxServer(app) as url:` or `start()` / `stop()`; port 0 picks a free port.
    """

    def __init__(
        self, app: Callable[..., Iterable[bytes]], *, port: int = 0, host: str = LOCALHOST
    ) -> None:
        if host != LOCALHOST:
            raise ValueError(f"the sandbox binds {LOCALHOST} only, not {host!r}")
        self._app = app
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{LOCALHOST}:{self._server.port}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return int(self._server.port)

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        if self._server is not None:
            return self.url
        # werkzeug prints why it cannot bind to stderr and exits; keep its words for our
        # error instead of letting them reach the user's terminal as extra lines.
        said = io.StringIO()
        try:
            with contextlib.redirect_stderr(said):
                server = make_server(
                    LOCALHOST, self._port, self._app, threaded=True, request_handler=_QuietHandler
                )
        except SystemExit:
            reason = (said.getvalue().splitlines() or ["cannot bind"])[0].strip()
            raise CannotListen(self._port, reason) from None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how fast stop() is noticed
            name=f"sandbox-{server.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (for `sync sandbox serve`)."""
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
