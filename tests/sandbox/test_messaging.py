"""Messaging through python-amazon-sp-api: allowed actions and unexpectedProblem rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sp_api.api import Messaging
from sp_api.base import SellingApiBadRequestException, SellingApiNotFoundException

from engine.sandbox import lifecycle
from engine.sandbox.orderstore import OrderTables
from tests.sandbox.conftest import FR, NOW
from tests.sandbox.orderfixtures import insert, make_order

OPEN = "302-0000001-0000001"
AFN = "302-0000002-0000002"
CANCELED = "302-0000003-0000003"


@pytest.fixture
def messaging(sandbox):
    placed = NOW - timedelta(hours=2)
    canceled = lifecycle.cancel(
        lifecycle.advance(make_order(3, placed), NOW), NOW, by="seller", reason="NoInventory"
    )
    insert(sandbox, make_order(1, placed), make_order(2, placed, channel="AFN"), canceled)
    return Messaging(**sandbox.client_kwargs("DE"))


def test_actions_offer_unexpected_problem_for_open_mfn_orders(messaging):
    body = messaging.get_messaging_actions_for_order(OPEN).payload
    href = f"/messaging/v1/orders/{OPEN}/messages/unexpectedProblem?marketplaceIds=A1PA6795UKMFR9"
    assert body["_links"]["actions"] == [{"href": href, "name": "unexpectedProblem"}]
    assert body["_embedded"]["actions"][0]["_links"]["self"]["href"] == href
    for order_id in (AFN, CANCELED):
        body = messaging.get_messaging_actions_for_order(order_id).payload
        assert body["_links"]["actions"] == [] and body["_embedded"]["actions"] == []


def test_unexpected_problem_is_recorded(sandbox, messaging):
    text = "Wir haben ein Problem mit Ihrer Bestellung: der Preis war falsch."
    messaging.create_unexpected_problem(OPEN, body={"text": text})
    with sandbox.store.read() as tx:
        (message,) = OrderTables(tx).messages(OPEN)
    assert (message.text, message.kind, message.sent_at) == (text, "unexpectedProblem", NOW)


@pytest.mark.parametrize(
    ("order_id", "text", "message"),
    [
        (OPEN, "", "1 to 2000 characters"),
        (OPEN, "x" * 2001, "1 to 2000 characters"),
        (OPEN, "Sorry! <b>Problem</b>", "HTML"),
        (OPEN, "Write to help@sonora.example.com please", "e-mail"),
        (AFN, "Sorry for the trouble.", "not available"),
        (CANCELED, "Sorry for the trouble.", "not available"),
    ],
)
def test_unexpected_problem_refuses_bad_messages(sandbox, messaging, order_id, text, message):
    with pytest.raises(SellingApiBadRequestException) as err:
        messaging.create_unexpected_problem(order_id, body={"text": text})
    assert message in err.value.message
    with sandbox.store.read() as tx:
        assert OrderTables(tx).messages() == []


def test_the_order_must_be_in_the_marketplace(sandbox, messaging):
    french = Messaging(**sandbox.client_kwargs("FR"))
    assert french.marketplace_id == FR
    with pytest.raises(SellingApiNotFoundException):
        french.get_messaging_actions_for_order(OPEN)


def test_actions_need_exactly_one_marketplace(raw, messaging):
    response = raw.get(f"/messaging/v1/orders/{OPEN}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/hal+json")
