"""JSON_LISTINGS_FEED: messages from changes, chunking, schema validity, report mapping."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import pytest

from engine.core import jsonio
from engine.core.sale import SalePrice
from engine.live.attributes import resource_attributes
from engine.live.feed import build_documents, feed_message, results_from_report
from engine.plan.diff import diff
from tests.sandbox.conftest import SHARED, make_resource

FEED_SCHEMA = SHARED / "spapi-models" / "schemas" / "feeds" / "listings-feed-schema-v2.json"
SALE = SalePrice(
    Decimal("44.99"), datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
)


def changes():
    live = make_resource("DE", "HP-1", "59.99", sale=SALE)
    want = replace(live, our_price=Decimal("64.99"), quantity=3, title="Kopfhörer „Studio“")
    new = make_resource("DE", "HP-2", "19.99")
    gone = make_resource("DE", "HP-3", "9.99")
    return diff(
        {want.address: want, new.address: new},
        {live.address: live, gone.address: gone},
        prune=lambda m, s: True,
    ).changes


def messages():
    delete, update, create = changes()
    offers = resource_attributes(update.before)["purchasable_offer"]
    return [
        feed_message(1, delete),
        feed_message(2, create),
        feed_message(3, update, offers),
    ]


def test_messages_say_what_each_change_does():
    delete, put, patch = messages()
    assert delete == {"messageId": 1, "sku": "HP-3", "operationType": "DELETE"}
    assert put["operationType"] == "UPDATE" and put["productType"] == "HEADPHONES"
    assert put["attributes"]["purchasable_offer"][0]["our_price"][0]["schedule"][0][
        "value_with_tax"
    ] == Decimal("19.99")
    ops = {p["path"]: p for p in patch["patches"]}
    offer = ops["/attributes/purchasable_offer"]["value"][0]
    assert ops["/attributes/purchasable_offer"]["op"] == "replace"
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("64.99")
    assert offer["discounted_price"][0]["schedule"][0]["value_with_tax"] == Decimal("44.99")
    assert ops["/attributes/fulfillment_availability"]["op"] == "merge"
    assert ops["/attributes/item_name"]["value"][0]["value"] == "Kopfhörer „Studio“"


def test_documents_are_utf8_with_exact_numbers():
    [document] = build_documents("A2SELLER", "de_DE", messages())
    text = document.data.decode("utf-8")
    assert "Kopfhörer „Studio“" in text and '"value_with_tax":64.99' in text
    assert document.message_ids == (1, 2, 3)
    assert jsonio.loads(document.data)["header"] == {
        "sellerId": "A2SELLER",
        "version": "2.0",
        "issueLocale": "de_DE",
    }


@pytest.mark.shared
@pytest.mark.skipif(not FEED_SCHEMA.is_file(), reason="../shared/spapi-models is not available")
def test_documents_validate_against_the_official_schema():
    schema = json.loads(FEED_SCHEMA.read_text(encoding="utf-8"))
    for document in build_documents("A2SELLER", "de_DE", messages(), max_messages=2):
        # The schema types prices as numbers; Decimal is a number to jsonschema only via float,
        # so validate the document as JSON text parsed the standard way.
        jsonschema.validate(json.loads(document.data), schema)


def test_chunks_respect_message_and_byte_limits():
    many = [dict(messages()[1], messageId=i) for i in range(1, 8)]
    by_count = build_documents("S", "de_DE", many, max_messages=3)
    assert [d.message_ids for d in by_count] == [(1, 2, 3), (4, 5, 6), (7,)]
    size = len(build_documents("S", "de_DE", many[:2])[0].data)
    by_size = build_documents("S", "de_DE", many, max_bytes=size)
    assert all(len(d.data) <= size for d in by_size)
    assert [i for d in by_size for i in d.message_ids] == list(range(1, 8))
    assert len(by_size) == 4
    with pytest.raises(ValueError, match="alone exceeds"):
        build_documents("S", "de_DE", many, max_bytes=100)


def test_processing_report_issues_map_back_by_message_id():
    numbered = dict(enumerate(changes(), start=1))
    report = {
        "issues": [
            {"messageId": 2, "sku": "HP-1", "code": "90220", "severity": "ERROR", "message": "x"},
            {"messageId": 3, "sku": "HP-2", "code": "1", "severity": "WARNING", "message": "w"},
            {"code": "FEED", "severity": "WARNING", "message": "whole feed"},
        ]
    }
    results = results_from_report(report, numbered, "F1")
    assert [(r.address, r.status) for r in results] == [
        ('listing.DE["HP-3"]', "ACCEPTED"),
        ('listing.DE["HP-1"]', "INVALID"),
        ('listing.DE["HP-2"]', "ACCEPTED"),
    ]
    assert [len(r.issues) for r in results] == [1, 2, 2]
    assert results[1].submission_id == "F1#2"
