"""The sandbox's Notifications API and its delivery to a local SQS (moto), as Amazon delivers.

The model and schema checks need ../shared (official SP-API models) and skip without it; the
behaviour tests run everywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from engine.sandbox.app import NOTIFICATIONS_SCOPE
from engine.sandbox.notifications import NOTIFICATION_TYPES, ORDER_CHANGE, QUANTITY_CHANGE
from engine.sandbox.runtime import Sandbox
from engine.sandbox.simulation import simulate
from engine.sandbox.sqs import queue_arn
from engine.sandbox.timing import AMAZON, FAST
from engine.watch.follow import parse_time
from tests.sandbox.conftest import MODELS, SHARED
from tests.sandbox.orderfixtures import insert, make_order

SCHEMAS = SHARED / "spapi-models" / "schemas" / "notifications"
NEEDS_SHARED = [
    pytest.mark.shared,
    pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/spapi-models is not available"),
]
DESTINATIONS = "/notifications/v1/destinations"


def subscriptions(kind: str) -> str:
    return f"/notifications/v1/subscriptions/{kind}"


def drain(box: Sandbox, url: str) -> list[dict[str, Any]]:
    client = box.sqs.client()
    bodies = []
    while True:
        found = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not found:
            return bodies
        for message in found:
            bodies.append(json.loads(message["Body"]))
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def make_destination(raw: httpx.Client, name: str = "q") -> str:
    body = {"name": name, "resourceSpecification": {"sqs": {"arn": queue_arn(name)}}}
    response = raw.post(DESTINATIONS, json=body)
    assert response.status_code == 200, response.text
    return response.json()["payload"]["destinationId"]


def test_destinations_and_subscriptions_round_trip(raw):
    destination = make_destination(raw)
    again = raw.post(
        DESTINATIONS, json={"name": "x", "resourceSpecification": {"sqs": {"arn": queue_arn("q")}}}
    )
    assert again.status_code == 409
    bad = raw.post(DESTINATIONS, json={"name": "x", "resourceSpecification": {"sqs": {"arn": "q"}}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "InvalidInput"
    listed = raw.get(DESTINATIONS).json()["payload"]
    assert [d["destinationId"] for d in listed] == [destination]

    assert raw.get(subscriptions(ORDER_CHANGE)).status_code == 404
    created = raw.post(
        subscriptions(ORDER_CHANGE), json={"payloadVersion": "1.0", "destinationId": destination}
    )
    assert created.status_code == 200
    subscription = created.json()["payload"]
    assert subscription["destinationId"] == destination
    assert raw.get(subscriptions(ORDER_CHANGE)).json()["payload"] == subscription
    duplicate = raw.post(
        subscriptions(ORDER_CHANGE), json={"payloadVersion": "1.0", "destinationId": destination}
    )
    assert duplicate.status_code == 409
    unknown = raw.post(subscriptions("ANY_OFFER_CHANGED"), json={"payloadVersion": "1.0"})
    assert unknown.status_code == 400
    gone = raw.delete(subscriptions(ORDER_CHANGE) + "/" + subscription["subscriptionId"])
    assert gone.status_code == 200
    assert raw.get(subscriptions(ORDER_CHANGE)).status_code == 404
    assert raw.delete(subscriptions(ORDER_CHANGE) + "/nope").status_code == 404


def test_grantless_token_for_the_notifications_scope(sandbox):
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.credentials.client_id,
        "client_secret": sandbox.credentials.client_secret,
    }
    wrong = httpx.post(sandbox.url + "/auth/o2/token", data={**form, "scope": "other"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_scope"
    token = httpx.post(
        sandbox.url + "/auth/o2/token", data={**form, "scope": NOTIFICATIONS_SCOPE}
    ).json()["access_token"]
    listed = httpx.get(sandbox.url + DESTINATIONS, headers={"x-amz-access-token": token})
    assert listed.status_code == 200 and listed.json() == {"payload": []}


@pytest.fixture
def subscribed(open_sandbox) -> tuple[Sandbox, str]:
    box = open_sandbox(rate_limits=False, notification_lag=timedelta(minutes=2))
    return box, box.subscribe_local_queue()


def test_amazon_timing_delivers_at_least_once_with_duplicates_and_out_of_order(open_sandbox):
    """As an SQS standard queue: every notification arrives, some twice (the same message,
    same NotificationId, later), and not in the order of their events."""
    often = dataclasses.replace(AMAZON, notification_duplicate_share=0.3)
    box = open_sandbox(rate_limits=False, timing=often, timing_seed=4)
    url = box.subscribe_local_queue()
    summary = simulate(box.account, box.advance, timedelta(hours=6), random.Random(3))
    box.advance(often.notification_delivery.high * 3)  # every lag and duplicate lag past
    changes = [b for b in drain(box, url) if b["NotificationType"] == ORDER_CHANGE]
    ids = [b["NotificationMetadata"]["NotificationId"] for b in changes]
    notified = {b["Payload"]["OrderChangeNotification"]["AmazonOrderId"] for b in changes}
    assert notified == {o.amazon_order_id for o in summary.orders}  # none lost
    twice = len(ids) - len(set(ids))
    assert 0 < twice < len(set(ids))
    events = [b["EventTime"] for b in changes]
    assert events != sorted(events)  # arrival order is not event order
    lags = {
        parse_time(b["NotificationMetadata"]["PublishTime"]) - parse_time(b["EventTime"])
        for b in changes
    }
    assert min(lags) >= AMAZON.notification_delivery.low and len(lags) > 1


def test_fast_timing_delivers_each_notification_once_after_a_minute(open_sandbox):
    box = open_sandbox(rate_limits=False, timing=FAST)
    url = box.subscribe_local_queue()
    simulate(box.account, box.advance, timedelta(hours=3), random.Random(3))
    box.advance(timedelta(minutes=2))
    changes = [b for b in drain(box, url) if b["NotificationType"] == ORDER_CHANGE]
    ids = [b["NotificationMetadata"]["NotificationId"] for b in changes]
    assert changes and len(ids) == len(set(ids))
    for body in changes:
        sent = parse_time(body["NotificationMetadata"]["PublishTime"])
        assert sent - parse_time(body["EventTime"]) >= FAST.notification_delivery.low


def test_orders_reach_the_queue_after_the_lag_without_prices(subscribed):
    box, url = subscribed
    summary = simulate(box.account, box.advance, timedelta(hours=6), random.Random(3))
    assert summary.orders
    box.advance(timedelta(minutes=2))  # the last step's orders, collected and past the lag
    box.advance(timedelta(minutes=2))
    bodies = drain(box, url)
    changes = [b for b in bodies if b["NotificationType"] == ORDER_CHANGE]
    placed = {o.amazon_order_id for o in summary.orders}
    notified = {b["Payload"]["OrderChangeNotification"]["AmazonOrderId"] for b in changes}
    assert notified == placed
    text = json.dumps(changes)
    assert "Price" not in text and "Promotion" not in text and "Amount" not in text
    for body in changes:
        meta = body["NotificationMetadata"]
        assert meta["PublishTime"] >= body["EventTime"]
    ids = [b["NotificationMetadata"]["NotificationId"] for b in bodies]
    assert len(ids) == len(set(ids))
    assert any(b["NotificationType"] == QUANTITY_CHANGE for b in bodies)


def test_nothing_is_delivered_before_the_lag(subscribed):
    box, url = subscribed
    order = make_order(1, box.clock.now(), sku="HP-001")
    insert(box, order)
    box.advance(timedelta(seconds=90))  # collected now, due two minutes after the order
    assert drain(box, url) == []
    assert box.notifications.pending() == 1
    box.advance(timedelta(seconds=30))
    (body,) = drain(box, url)
    change = body["Payload"]["OrderChangeNotification"]
    assert change["AmazonOrderId"] == order.amazon_order_id
    assert change["Summary"]["OrderItems"][0]["SellerSKU"] == "HP-001"


def test_a_failed_delivery_is_retried_not_lost(subscribed):
    box, url = subscribed
    simulate(box.account, box.advance, timedelta(hours=3), random.Random(7))
    box.advance(timedelta(minutes=5))
    drain(box, url)
    working = box.notifications.sender

    def broken(arn: str, bodies: list[str]) -> None:
        raise ConnectionError("queue unreachable")

    box.notifications.sender = broken
    placed = simulate(box.account, box.advance, timedelta(hours=2), random.Random(8)).orders
    box.advance(timedelta(minutes=5))
    assert placed and box.notifications.pending() > 0
    assert drain(box, url) == []
    box.notifications.sender = working
    box.advance(timedelta(seconds=1))
    assert box.notifications.pending() == 0
    notified = {
        b["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        for b in drain(box, url)
        if b["NotificationType"] == ORDER_CHANGE
    }
    assert {o.amazon_order_id for o in placed} <= notified


# -- against Amazon's models and schemas (../shared) ---------------------------------------
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def status_change_schema() -> dict[str, Any]:
    """The LISTINGS_ITEM_STATUS_CHANGE schema in ../shared comes from an unmerged work-in-
    progress commit (see SOURCE.txt): its NotificationType enum says
    LISTINGS_ITEM_STATUS_CHANGED, while its own example, Amazon's documentation and the
    subscription path all use LISTINGS_ITEM_STATUS_CHANGE. The sandbox sends what Amazon
    sends; everything else in the schema is checked as written."""
    schema = copy.deepcopy(_schema("ListingsItemStatusChangeNotification.json"))
    assert schema["examples"][0]["NotificationType"] == "LISTINGS_ITEM_STATUS_CHANGE"
    schema["properties"]["NotificationType"]["enum"].append("LISTINGS_ITEM_STATUS_CHANGE")
    return schema


@pytest.mark.parametrize("kind", NOTIFICATION_TYPES)
@pytest.mark.usefixtures("subscribed")
def test_published_payloads_validate_against_the_schemas(subscribed, kind, request):
    for mark in NEEDS_SHARED:
        request.applymarker(mark)
    if not SCHEMAS.is_dir():
        pytest.skip("../shared/spapi-models is not available")
    box, url = subscribed
    simulate(box.account, box.advance, timedelta(hours=10), random.Random(11))
    with box.store.write() as tx:  # a listing deleted in Seller Central
        tx.connection.execute("DELETE FROM listings WHERE sku = 'HP-029'")
    box.advance(timedelta(minutes=1))
    box.advance(timedelta(minutes=2))  # the deletion, past the two-minute lag
    schemas = {
        "ORDER_CHANGE": _schema("OrderChangeNotification.json"),
        "LISTINGS_ITEM_MFN_QUANTITY_CHANGE": _schema("ListingsItemMfnQuantityChange.json"),
        "LISTINGS_ITEM_STATUS_CHANGE": status_change_schema(),
    }
    bodies = [b for b in drain(box, url) if b["NotificationType"] == kind]
    assert bodies
    validator = jsonschema.Draft7Validator(schemas[kind])
    for body in bodies:
        errors = list(validator.iter_errors(body))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    if kind == "LISTINGS_ITEM_STATUS_CHANGE":
        assert ["DELETED"] in [b["Payload"]["Status"] for b in bodies]


@pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/spapi-models is not available")
@pytest.mark.shared
def test_api_responses_conform_to_the_model(raw):
    from tests.sandbox.test_conformance import NOTIFICATIONS_MODEL, Model

    model = Model(NOTIFICATIONS_MODEL)
    destination_body = {"name": "q", "resourceSpecification": {"sqs": {"arn": queue_arn("q")}}}
    created = raw.post(DESTINATIONS, json=destination_body)
    destination = model.check(DESTINATIONS, "POST", created)["payload"]["destinationId"]
    model.check(DESTINATIONS, "GET", raw.get(DESTINATIONS))
    model.check(DESTINATIONS, "POST", raw.post(DESTINATIONS, json=destination_body))  # 409
    path = "/notifications/v1/subscriptions/{notificationType}"
    body = {"payloadVersion": "1.0", "destinationId": destination}
    sub = model.check(path, "POST", raw.post(subscriptions(ORDER_CHANGE), json=body))
    model.check(path, "GET", raw.get(subscriptions(ORDER_CHANGE)))
    model.check(path, "GET", raw.get(subscriptions(QUANTITY_CHANGE)))  # 404
    by_id = path + "/{subscriptionId}"
    gone = raw.delete(subscriptions(ORDER_CHANGE) + "/" + sub["payload"]["subscriptionId"])
    model.check(by_id, "DELETE", gone)


def test_shared_path_is_where_the_conformance_tests_look():
    assert Path(SCHEMAS).parent.parent == MODELS.parent
