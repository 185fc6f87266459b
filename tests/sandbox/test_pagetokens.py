"""Page tokens as Amazon's behave: opaque, in need of URL-encoding, and expiring after 24 hours
(orders_2026-01-01.json, SearchOrdersResponse.pagination), refused with 400 InvalidInput."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import quote

import pytest

from engine.sandbox import pagetoken
from engine.sandbox.account import ApiError
from engine.sandbox.jobs import JobQuery
from engine.sandbox.orders import iso
from tests.sandbox.conftest import DE, NOW, SELLER
from tests.sandbox.orderfixtures import insert, make_order

STATE = {"o": 20, "q": "0123456789abcdef"}


def codec(seller: str = SELLER, at=NOW) -> pagetoken.Codec:
    return pagetoken.Codec(pagetoken.key_for(seller), at)


def test_a_token_round_trips_and_is_opaque_standard_base64():
    token = codec().encode(STATE)
    assert codec().decode(token) == STATE
    assert token.endswith("==")
    raw = base64.b64decode(token, validate=True)
    with pytest.raises(ValueError):
        json.loads(raw)
    assert b"0123456789abcdef" not in raw  # the state is not readable in the token


def test_tokens_carry_characters_that_need_url_encoding():
    tokens = [codec().encode({"o": n, "q": "x"}) for n in range(20)]
    assert any("+" in t for t in tokens) and any("/" in t for t in tokens)
    assert all(quote(t, safe="") != t for t in tokens)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t.replace("+", " ").replace("/", " "),  # sent without URL-encoding
        lambda t: t.rstrip("="),
        lambda t: t[:-6] + ("A" if t[-6] != "A" else "B") + t[-5:],
        lambda t: base64.urlsafe_b64encode(json.dumps(STATE).encode()).decode(),  # the old kind
    ],
)
def test_a_spoiled_token_is_refused(spoil):
    token = next(t for n in range(50) if "+" in (t := codec().encode({"o": n, "q": "x"})))
    with pytest.raises(pagetoken.TokenError) as err:
        codec().decode(spoil(token))
    assert not isinstance(err.value, pagetoken.TokenExpired)


def test_another_sellers_token_is_refused():
    with pytest.raises(pagetoken.TokenError):
        codec("A3OTHERSELLER").decode(codec().encode(STATE))


def test_a_token_expires_after_24_hours_of_sandbox_time():
    token = codec().encode(STATE)
    assert codec(at=NOW + timedelta(hours=24) - timedelta(seconds=1)).decode(token) == STATE
    with pytest.raises(pagetoken.TokenExpired):
        codec(at=NOW + timedelta(hours=24)).decode(token)


def test_a_report_listing_token_expires_with_invalid_input():
    query = JobQuery.parse(
        {"reportTypes": ["GET_MERCHANT_LISTINGS_ALL_DATA"]}, "reportTypes", codec()
    )
    token = query.token(codec(), 10)
    assert JobQuery.parse({"nextToken": [token]}, "reportTypes", codec()).offset == 10
    late = codec(at=NOW + timedelta(days=1, minutes=1))
    with pytest.raises(ApiError) as err:
        JobQuery.parse({"nextToken": [token]}, "reportTypes", late)
    assert (err.value.status, err.value.code) == (400, "InvalidInput")
    assert "expired" in err.value.message


# (path, first-page query, where the token comes back, the parameter it goes in)
PAGED = {
    "getOrders": (
        "/orders/v0/orders",
        {
            "MarketplaceIds": DE,
            "CreatedAfter": iso(NOW - timedelta(days=1)),
            "MaxResultsPerPage": 1,
        },
        lambda body: body["payload"].get("NextToken"),
        "NextToken",
    ),
    "searchOrders": (
        "/orders/2026-01-01/orders",
        {
            "marketplaceIds": DE,
            "createdAfter": iso(NOW - timedelta(days=1)),
            "maxResultsPerPage": 1,
        },
        lambda body: body.get("pagination", {}).get("nextToken"),
        "paginationToken",
    ),
    "searchListingsItems": (
        f"/listings/2021-08-01/items/{SELLER}",
        {"marketplaceIds": DE, "pageSize": 1},
        lambda body: body.get("pagination", {}).get("nextToken"),
        "pageToken",
    ),
}


def first_token(sandbox, raw, operation, *, with_plus=False):
    """The first nextToken served (with `with_plus`, the first one holding a `+`)."""
    insert(sandbox, *(make_order(n, NOW - timedelta(hours=9 - n)) for n in range(1, 9)))
    path, query, token_of, _ = PAGED[operation]
    page = raw.get(path, params=query)
    while True:
        assert page.status_code == 200, page.text
        token = token_of(page.json())
        assert token, "no page with a '+' in its token"
        if not with_plus or "+" in token:
            return token
        page = next_page(raw, operation, token)


def next_page(raw, operation, token, *, encode=True):
    path, query, _, name = PAGED[operation]
    params = {name: token} if name == "NextToken" else {**query, name: token}
    if encode:
        return raw.get(path, params=params)
    # What a client that glues the token into the URL as it is sends: `+` reads as a space.
    text = "&".join(f"{k}={v}" for k, v in params.items())
    return raw.get(f"{path}?{text}")


def refused(response, name, reason=""):
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert error["message"].startswith(f"Invalid '{name}'")
    assert reason in error["message"]


@pytest.mark.parametrize("operation", sorted(PAGED))
def test_a_token_needs_url_encoding(sandbox, raw, operation):
    token = first_token(sandbox, raw, operation, with_plus=True)
    assert next_page(raw, operation, token).status_code == 200
    refused(next_page(raw, operation, token, encode=False), PAGED[operation][3])


@pytest.mark.parametrize("operation", sorted(PAGED))
def test_an_expired_token_is_refused_with_invalid_input(sandbox, raw, operation):
    token = first_token(sandbox, raw, operation)
    sandbox.clock.advance(timedelta(hours=23))
    assert next_page(raw, operation, token).status_code == 200
    sandbox.clock.advance(timedelta(hours=1))
    refused(next_page(raw, operation, token), PAGED[operation][3], "expired")
