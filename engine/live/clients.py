"""python-amazon-sp-api clients, made strict about errors and exact about money.

The library is used for what it does well (operation paths, LWA token exchange and its
cache, credentials). Two things it does not do well are overridden in one subclass mixin,
`_Strict`, applied to each API class we use:

- it serialises bodies with `json.dumps`, which cannot write Decimal (and money must not go
  through float): bodies are written with engine.core.jsonio, exact JSON numbers;
- it raises only when an error body is JSON with `errors`, so an empty 429 or an HTML 502
  comes back as an empty "success" without a status code: every response's status is checked
  here, any non-2xx becomes an `SpApiError`, and bodies are parsed with Decimal numbers.

A refusal (400, 401, 403) is also classified here, the one place every answer passes: it is
an `SpApiRefused`, an SpApiError that is a UserError too. Code that handles a failed call
(a write recorded as INVALID) sees no difference; one that lets it escape gives the user one
line with what Amazon answered and what to change, not a crash log. A refused token
exchange with Login with Amazon is a `CredentialError` with what to do, likewise.

Clients are not thread-safe and `delete_listings_item` ignores the marketplace you pass, so
`ClientPool` keeps one client per API, marketplace and thread. Every client (and its LWA
token client) gets one shared SSL context: left to itself each builds its own and loads the
CA bundle again, which made building a watch pass's ~19 clients take seconds on a busy
machine instead of a tenth of one (measured: 7.0 s against 0.15 s on the 2-core CI box).
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.api import Inventories, Messaging, ProductTypeDefinitions, Reports, Sellers
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Client
from sp_api.base._core import add_marketplaces, prepare_request, resolve_method
from sp_api.base.credential_provider import FromCodeCredentialProvider

from engine.core import jsonio
from engine.core.errors import UserError
from engine.core.marketplaces import BY_ID, MARKETPLACES, REGION_ENDPOINTS

DEFAULT_TIMEOUT = 30.0


class SpApiError(UserError):
    """A non-2xx answer (or a 2xx that is not JSON). `transient` errors are worth retrying.

    It is a UserError: whatever Amazon answers, a command that cannot go on says so in one
    line (what Amazon answered, to which call, and what to do), never as a crash. Code that
    handles a failed call (a write recorded as FAILED, a 404 read as "no such listing") sees
    an SpApiError as before. The invoker names the `operation` and `marketplace` it was for."""

    def __init__(
        self,
        status: int,
        errors: list[dict[str, Any]],
        headers: Mapping[str, str],
    ) -> None:
        self.status = status
        self.errors = errors
        self.request_id = headers.get("x-amzn-RequestId")
        self.rate_limit = headers.get("x-amzn-RateLimit-Limit")
        self.retry_after = headers.get("Retry-After")
        self.operation: str | None = None
        self.marketplace: str | None = None
        first = errors[0] if errors else {}
        self.code = str(first.get("code", "Unknown"))
        super().__init__(f"HTTP {status} {self.code}: {first.get('message', '')}".rstrip(": "))

    @property
    def transient(self) -> bool:
        # A 2xx is an error only when its body is not JSON: an answer garbled or cut short on
        # the way (amzn/selling-partner-api-models #4850), worth asking again.
        return self.status == 429 or self.status >= 500 or 200 <= self.status < 300

    def lines(self) -> list[str]:
        call = f" to {self.operation}" if self.operation else ""
        where = f" for {self.marketplace}" if self.marketplace else ""
        request = f" (request id {self.request_id})" if self.request_id else ""
        return [
            f"Amazon answered {_one_line(str(self))}{call}{where}{request}; run the command "
            "again, and if Amazon answers the same, report it with the request id"
        ]


REFUSED = frozenset({400, 401, 403})
CREDENTIAL_PLACES = (
    "SP_API_REFRESH_TOKEN, LWA_APP_ID and LWA_CLIENT_SECRET (or backend.credentials_file)"
)
REAUTHORISE = (
    "re-authorise the app for this seller in Seller Central and update SP_API_REFRESH_TOKEN "
    "(or refresh_token in backend.credentials_file)"
)


class SpApiRefused(SpApiError, UserError):
    """Amazon refused the call as made (400, 401 or 403). Retrying changes nothing; the
    config, the seller's registration or the app's authorisation has to change, so the
    message says which. It names what Amazon answered (status, code, message, details),
    which never holds a token or secret."""

    def __init__(
        self,
        status: int,
        errors: list[dict[str, Any]],
        headers: Mapping[str, str],
        marketplace: str,
    ) -> None:
        super().__init__(status, errors, headers)
        self.marketplace = marketplace
        first = errors[0] if errors else {}
        said = _one_line(f"{first.get('message', '')} {first.get('details', '')}")
        answer = f"HTTP {status} {self.code}" + (f": {said}" if said else "")
        request = f" (request id {self.request_id})" if self.request_id else ""
        # What str() and UserError.lines() show, in place of SpApiError's short form.
        self.args = (
            f"Amazon refused the SP-API call for {marketplace}: {answer}{request}; "
            f"{refusal_advice(status, said, marketplace)}",
        )

    def lines(self) -> list[str]:
        return [str(self)]


def refusal_advice(status: int, said: str, marketplace: str) -> str:
    """What to change after a refusal, from its status and what Amazon said (Amazon answers
    one 403 `Unauthorized` for a bad token, a seller id that is not the app's, and a missing
    role: its details tell them apart when it gives any)."""
    text = said.lower()
    if status == 400 and "does not participate" in text:
        return (
            f"check that {marketplace} is enabled for this seller in Seller Central, or remove "
            "it from marketplaces in project.yaml"
        )
    if status == 400:
        return (
            "check seller.id and marketplaces in project.yaml; if they are right, report this "
            "as a bug with the request id"
        )
    if "expired" in text:
        return "the access token expired before it was used: check this machine's clock"
    if "sellerid" in text or "seller id" in text:
        return "check seller.id in project.yaml: it must be the seller who authorised the app"
    if status == 401 or "token" in text:
        return f"the app's authorisation was refused: {REAUTHORISE}"
    return (
        "check that seller.id in project.yaml is the seller who authorised the app and that "
        "the app has the role this call needs (Seller Central, Apps and Services), then "
        "re-authorise it"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


class CredentialError(UserError):
    """Credentials missing, unreadable or rejected by Login with Amazon."""


def lwa_refusal(err: AuthorizationError) -> CredentialError:
    """A token exchange Login with Amazon refused, with what to change: the refresh token
    (invalid_grant: revoked, or issued to another app) or the app's client id and secret."""
    answer = _one_line(f"HTTP {err.status_code} {err.error_code}: {err.message or ''}")
    if err.error_code == "invalid_grant":
        advice = f"the refresh token was rejected: {REAUTHORISE}"
    elif err.error_code in ("server_error", "temporarily_unavailable") or (
        err.status_code is not None and int(err.status_code) >= 500
    ):
        # Login with Amazon itself is down (amzn/selling-partner-api-docs #869): the
        # credentials are not the problem.
        return CredentialError(
            f"Login with Amazon did not issue an access token ({answer}); it is unavailable, "
            "not the credentials: run the command again in a few minutes (an apply resumes "
            "from its journal)"
        )
    elif err.error_code in ("invalid_client", "unauthorized_client"):
        advice = (
            "the app's client id or secret was rejected: check LWA_APP_ID and "
            "LWA_CLIENT_SECRET (or lwa_app_id and lwa_client_secret in "
            "backend.credentials_file); a rotated client secret must be updated there"
        )
    else:
        advice = f"check {CREDENTIAL_PLACES}"
    return CredentialError(
        f"Login with Amazon rejected the SP-API credentials ({answer}); {advice}"
    )


def _errors_of(status: int, body: Any, text: str) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        return body["errors"]
    snippet = " ".join(text.split())[:120]
    return [
        {
            "code": "NonJsonError" if body is None else "UnexpectedBody",
            "message": f"HTTP {status} with no SP-API error body"
            + (f": {snippet}" if snippet else " (empty)"),
        }
    ]


class _Strict:
    """Mixin over a python-amazon-sp-api client class (see the module docstring)."""

    endpoint: str
    marketplace_id: str
    version: str | None
    method: str
    _transport: Any

    def _request(
        self,
        path: str,
        *,
        data: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        add_marketplace: bool = True,
        res_no_data: bool = False,
        bulk: bool = False,
        wrap_list: bool = False,
    ) -> ApiResponse:
        method, params, data = resolve_method(params, data)
        self.method = method
        if add_marketplace:
            add_marketplaces(
                method, self.marketplace_id, data if method in ("POST", "PUT") else params
            )
        try:
            request_headers = headers or self.headers  # type: ignore[attr-defined]
        except AuthorizationError as err:
            raise lwa_refusal(err) from None
        prepared = prepare_request(
            method=method,
            endpoint=self.endpoint,
            path=path,
            params=params,
            data=None,
            headers=request_headers,
            add_marketplace=False,
            marketplace_id=self.marketplace_id,
            version=self.version,
        )
        if data and method in ("POST", "PUT", "PATCH"):
            prepared["content"] = jsonio.dumps(data).encode("utf-8")
        return self._check(self._transport.request(**prepared))

    def _check(self, res: httpx.Response) -> ApiResponse:
        try:
            body = jsonio.loads(res.content) if res.content else {}
        except jsonio.JSONError:
            body = None
        if not 200 <= res.status_code < 300 or body is None:
            errors = _errors_of(res.status_code, body, res.text)
            if res.status_code in REFUSED:
                known = BY_ID.get(self.marketplace_id)
                code = known.code if known is not None else self.marketplace_id
                raise SpApiRefused(res.status_code, errors, res.headers, code)
            raise SpApiError(res.status_code, errors, res.headers)
        if isinstance(body, list):
            body = {"payload": body}
        response = ApiResponse(**body, headers=res.headers)
        response.status_code = res.status_code
        return response


def _strict(cls: type[Client]) -> type[Client]:
    return type(f"Strict{cls.__name__}", (_Strict, cls), {})


LISTINGS = _strict(ListingsItemsV20210801)
FEEDS = _strict(FeedsV20210630)
REPORTS = _strict(Reports)
# Orders 2026-01-01 (what `Orders(version="2026-01-01")` returns); v0 is deprecated.
ORDERS = _strict(OrdersV20260101)
INVENTORIES = _strict(Inventories)
SELLERS = _strict(Sellers)
MESSAGING = _strict(Messaging)
DEFINITIONS = _strict(ProductTypeDefinitions)


@dataclass(frozen=True, slots=True)
class SpApiMarketplace:
    """What python-amazon-sp-api reads from its `marketplace` argument."""

    endpoint: str
    marketplace_id: str
    region: str


def token_client_class(endpoint: str) -> type[AccessTokenClient]:
    """An LWA client class that exchanges tokens with `endpoint` (an endpoint override such
    as the sandbox) instead of api.amazon.com."""
    parts = urlsplit(endpoint)
    return type(
        "EndpointAccessTokenClient",
        (AccessTokenClient,),
        {"scheme": f"{parts.scheme}://", "host": parts.netloc},
    )


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One SSL context with the CA bundle loaded, for every client of the process (an
    SSLContext is safe to share between threads and connections)."""
    return httpx.create_ssl_context()


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach SP-API: LWA credentials and, optionally, one endpoint for both the API
    and the token exchange. Its repr never shows the credentials."""

    credentials: Mapping[str, str]
    endpoint: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:
        return f"Connection(endpoint={self.endpoint!r})"

    def region(self, code: str) -> str:
        return MARKETPLACES[code].region

    def client_kwargs(self, code: str) -> dict[str, Any]:
        mkt = MARKETPLACES[code]
        kwargs: dict[str, Any] = {
            "marketplace": SpApiMarketplace(
                self.endpoint or REGION_ENDPOINTS[mkt.region],
                mkt.marketplace_id,
                mkt.aws_region,
            ),
            "credentials": dict(self.credentials),
            # Only what we loaded (engine.flows.connect); never the library's own search of
            # the environment, ~/.config or AWS Secrets Manager.
            "credential_providers": (FromCodeCredentialProvider,),
            "timeout": self.timeout,
            "verify": shared_ssl_context(),
        }
        if self.endpoint is not None:
            kwargs["auth_token_client_class"] = token_client_class(self.endpoint)
        return kwargs


class ClientPool:
    """One client per (API class, marketplace, thread)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._local = threading.local()
        self._all: list[Client] = []
        self._lock = threading.Lock()

    def get(self, api: type[Client], marketplace: str) -> Any:
        clients: dict[tuple[type, str], Client] = self._local.__dict__.setdefault("clients", {})
        client = clients.get((api, marketplace))
        if client is None:
            client = api(**self.connection.client_kwargs(marketplace))
            clients[(api, marketplace)] = client
            with self._lock:
                self._all.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            client.close()
