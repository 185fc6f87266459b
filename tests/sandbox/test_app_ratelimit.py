"""The application-wide limits over HTTP: every client of one LWA application shares them, and
the 429 says which limit it was, as Amazon's does (engine.live.invoke reads the message).

With one seller the published application rates never bind before the seller's own, so these
tests lower them: an application allowed 2 getListingsItem a second against the seller's 5.
On a frozen clock the seller's burst is spent first, then a second of virtual time gives the
seller 5 tokens and the application 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from engine.core.spapi_limits import (
    APP_LIMITS,
    APPLICATION_THROTTLED,
    LIMITS,
    PRODUCT_DATA_PATCH,
    PRODUCT_DATA_THROTTLED,
    Limit,
)
from tests.sandbox.conftest import DE, SELLER

REPO = Path(__file__).resolve().parents[2]
ITEM = f"/listings/2021-08-01/items/{SELLER}/HP-002"

# A client process of the application: its own access token from the same LWA client id,
# then `calls` getListingsItem; prints each answer's status and message.
CLIENT = """
import json, sys
import httpx
import pytest
url, client_id, secret, refresh, path, marketplace, calls = sys.argv[1:8]
token = httpx.post(url + "/auth/o2/token", data={
    "grant_type": "refresh_token", "refresh_token": refresh,
    "client_id": client_id, "client_secret": secret}).json()["access_token"]
sys.stdin.readline()  # start together
answers = []
with httpx.Client(base_url=url, headers={"x-amz-access-token": token}) as client:
    for _ in range(int(calls)):
        r = client.get(path, params={"marketplaceIds": marketplace})
        answers.append([r.status_code, r.json().get("errors", [{}])[0].get("message", "")])
print(json.dumps(answers))
"""


def token(box) -> str:
    creds = box.credentials
    return httpx.post(
        box.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    ).json()["access_token"]


@pytest.fixture
def limited(open_sandbox, monkeypatch):
    """A rate-limited sandbox whose application may make 2 getListingsItem a second and 1
    product-data patch, with every bucket of its seller and application emptied."""
    monkeypatch.setitem(APP_LIMITS, "getListingsItem", Limit(rate=2.0, burst=1, header="2"))
    monkeypatch.setitem(APP_LIMITS, PRODUCT_DATA_PATCH, Limit(rate=1.0, burst=1, header="1"))
    box = open_sandbox(rate_limits=True)  # the clock is frozen: buckets refill when advanced
    app = box.credentials.client_id
    for operation, quotas in (
        ("getListingsItem", ()),
        ("patchListingsItem", (PRODUCT_DATA_PATCH,)),
    ):
        while box.limiter.admit(operation, app, quotas) is None:
            pass
    box.clock.advance(timedelta(seconds=1))
    assert box.limiter.available("getListingsItem") == 5
    assert box.limiter.available("getListingsItem", app) == 2
    return box


def test_two_client_processes_of_one_application_are_throttled_together(limited):
    creds = limited.credentials
    args = [creds.client_id, creds.client_secret, creds.refresh_token, ITEM, DE, "2"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, limited.url, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    outs = [p.communicate("go\n", timeout=60)[0] for p in procs]
    answers = [a for out in outs for a in json.loads(out)]
    # each process alone stays within the application's 2; together they do not
    assert sorted(s for s, _ in answers) == [200, 200, 429, 429]
    assert all(APPLICATION_THROTTLED in m for s, m in answers if s == 429)
    assert limited.limiter.available("getListingsItem") == 3  # the refused took nothing


def test_the_applications_429_is_amazons(limited):
    headers = {"x-amz-access-token": token(limited)}
    with httpx.Client(base_url=limited.url, headers=headers) as client:
        statuses = [client.get(ITEM, params={"marketplaceIds": DE}).status_code for _ in "ab"]
        assert statuses == [200, 200]
        refused = client.get(ITEM, params={"marketplaceIds": DE})
        assert refused.status_code == 429
        assert refused.headers["x-amzn-RateLimit-Limit"] == LIMITS["getListingsItem"].header
        assert refused.json() == {
            "errors": [
                {
                    "code": "QuotaExceeded",
                    "message": "The frequency of requests was greater than what is allowed "
                    "for the application.",
                }
            ]
        }
        limited.clock.advance(timedelta(seconds=0.5))
        assert client.get(ITEM, params={"marketplaceIds": DE}).status_code == 200


def test_a_product_data_patch_is_throttled_by_its_own_application_limit(limited):
    headers = {"x-amz-access-token": token(limited)}
    title = {
        "productType": "HEADPHONES",
        "patches": [
            {"op": "replace", "path": "/attributes/item_name", "value": [{"value": "New"}]}
        ],
    }
    offer = {
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }
        ],
    }
    with httpx.Client(base_url=limited.url, headers=headers) as client:
        first = client.patch(ITEM, params={"marketplaceIds": DE}, json=title)
        assert first.status_code == 200, first.text
        second = client.patch(ITEM, params={"marketplaceIds": DE}, json=title)
        assert second.status_code == 429
        assert PRODUCT_DATA_THROTTLED in second.json()["errors"][0]["message"]
        assert client.patch(ITEM, params={"marketplaceIds": DE}, json=offer).status_code == 200
