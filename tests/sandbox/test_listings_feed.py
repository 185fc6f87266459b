"""JSON_LISTINGS_FEED rules against Amazon's published schemas (skipped without ../shared):
our acceptance agrees with listings-feed-schema-v2, and every processing report the sandbox
writes validates against listings-feed-processing-report-schema-v2."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from engine.core import jsonio
from engine.sandbox import faults
from engine.sandbox.listings_feed import schema_problems
from tests.sandbox.conftest import SHARED, finished_feed, listings_feed, quantity_patch, submit_feed

FEED_SCHEMAS = SHARED / "spapi-models" / "schemas" / "feeds"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not FEED_SCHEMAS.is_dir(), reason="../shared/spapi-models is not available"),
]


def load(name: str) -> Any:
    return json.loads((FEED_SCHEMAS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def feed_schema() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(load("listings-feed-schema-v2.json"))


@pytest.fixture(scope="module")
def report_schema() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(load("listings-feed-processing-report-schema-v2.json"))


UPDATE = {
    "sku": "A-1",
    "operationType": "UPDATE",
    "productType": "HEADPHONES",
    "requirements": "LISTING",
    "attributes": {"item_name": [{"value": "x", "language_tag": "de_DE"}]},
}
PARTIAL = {
    "sku": "A-2",
    "operationType": "PARTIAL_UPDATE",
    "productType": "HEADPHONES",
    "attributes": {"item_name": [{"value": "y"}]},
}
DELETE = {"sku": "A-3", "operationType": "DELETE"}
PATCH = quantity_patch("A-4", 3)


def changed(path: str, value: Any) -> dict[str, Any]:
    """The good document with one change at `path` (dots; `-` deletes the key)."""
    document = copy.deepcopy(listings_feed(UPDATE, PARTIAL, DELETE, PATCH))
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    key: Any = int(last) if last.isdigit() else last
    if value == "-":
        del node[key]
    else:
        node[key] = value
    return document


DOCUMENTS = {
    "good": listings_feed(UPDATE, PARTIAL, DELETE, PATCH),
    "report-header": changed(
        "header.report", {"includedData": ["issues", "offers"], "apiVersion": "2021-08-01"}
    ),
    "float-message-id": changed("messages.0.messageId", 7.0),
    "no-issue-locale": changed("header.issueLocale", "-"),
    "extra-top-level-key": changed("comment", "kept"),
    "patch-without-value": changed(
        "messages.3.patches", [{"op": "delete", "path": "/attributes/x"}]
    ),
    "no-header": changed("header", "-"),
    "header-not-object": changed("header", []),
    "no-seller": changed("header.sellerId", "-"),
    "seller-not-string": changed("header.sellerId", 12),
    "version-1": changed("header.version", "1.0"),
    "version-number": changed("header.version", 2.0),
    "locale-number": changed("header.issueLocale", 1),
    "report-without-api": changed("header.report", {"includedData": ["issues"]}),
    "report-bad-data": changed(
        "header.report", {"includedData": ["everything"], "apiVersion": "2021-08-01"}
    ),
    "report-empty-data": changed("header.report", {"includedData": [], "apiVersion": "2021-08-01"}),
    "report-bad-api": changed("header.report", {"includedData": ["issues"], "apiVersion": "2020"}),
    "no-messages": changed("messages", "-"),
    "empty-messages": changed("messages", []),
    "messages-object": changed("messages", {}),
    "message-not-object": changed("messages.0", "UPDATE A-1"),
    "message-id-zero": changed("messages.0.messageId", 0),
    "message-id-huge": changed("messages.0.messageId", 2_147_483_648),
    "message-id-string": changed("messages.0.messageId", "1"),
    "message-id-fraction": changed("messages.0.messageId", 1.5),
    "message-id-bool": changed("messages.0.messageId", True),
    "no-message-id": changed("messages.0.messageId", "-"),
    "empty-sku": changed("messages.0.sku", ""),
    "no-sku": changed("messages.1.sku", "-"),
    "no-operation": changed("messages.0.operationType", "-"),
    "unknown-operation": changed("messages.0.operationType", "UPSERT"),
    "empty-product-type": changed("messages.0.productType", ""),
    "update-without-attributes": changed("messages.0.attributes", "-"),
    "update-with-patches": changed("messages.0.patches", PATCH["patches"]),
    "update-bad-requirements": changed("messages.0.requirements", "EVERYTHING"),
    "empty-attributes": changed("messages.0.attributes", {}),
    "attributes-array": changed("messages.0.attributes", []),
    "partial-with-requirements": changed("messages.1.requirements", "LISTING"),
    "partial-without-product-type": changed("messages.1.productType", "-"),
    "delete-with-product-type": changed("messages.2.productType", "X"),
    "delete-with-attributes": changed("messages.2.attributes", {"a": []}),
    "patch-with-attributes": changed("messages.3.attributes", {"a": []}),
    "patch-without-patches": changed("messages.3.patches", "-"),
    "patch-empty-patches": changed("messages.3.patches", []),
    "patch-bad-op": changed("messages.3.patches", [{"op": "move", "path": "/attributes/x"}]),
    "patch-no-path": changed("messages.3.patches", [{"op": "delete"}]),
    "patch-value-not-array": changed(
        "messages.3.patches", [{"op": "add", "path": "/attributes/x", "value": {"a": 1}}]
    ),
    "patch-value-of-strings": changed(
        "messages.3.patches", [{"op": "add", "path": "/attributes/x", "value": ["a"]}]
    ),
    "too-many-messages": changed(
        "messages", [{**DELETE, "messageId": i} for i in range(1, 25_002)]
    ),
    "not-an-object": [listings_feed(DELETE)],
}


ACCEPTED = {
    "report-header",
    "float-message-id",
    "no-issue-locale",
    "extra-top-level-key",
    "patch-without-value",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_acceptance_agrees_with_the_official_schema(feed_schema, name):
    document = DOCUMENTS[name]
    official = feed_schema.is_valid(document)
    ours = schema_problems(jsonio.loads(json.dumps(document)))
    assert official == (not ours), ours or list(feed_schema.iter_errors(document))[:3]
    assert official == (name.startswith("good") or name in ACCEPTED)


def test_the_official_example_is_accepted():
    example = jsonio.loads((FEED_SCHEMAS / "listings-feed-schema-v2.example.json").read_bytes())
    assert schema_problems(example) == []


def reports(sandbox, feeds_client) -> list[tuple[str, dict[str, Any]]]:
    """The processing reports of feeds that end every way a listings feed can."""
    bad_quantity = quantity_patch("HP-006", -1)
    cases: list[tuple[str, Any]] = [
        ("clean", listings_feed(quantity_patch("HP-005", 4))),
        ("one-bad", listings_feed(quantity_patch("HP-005", 4), bad_quantity)),
        ("missing-sku", listings_feed(quantity_patch("NOPE", 1))),
        ("duplicate-id", {**listings_feed(DELETE), "messages": [{**DELETE, "messageId": 1}] * 2}),
        ("schema", changed("messages.3.patches", "-")),
        ("non-json", b"not json"),
        ("non-utf8", b"\xff\xfe\x00"),
    ]
    result = []
    for name, document in cases:
        _, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, document))
        result.append((name, report))
    faults.set_feed_message_errors(sandbox.store, 1)
    _, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, cases[0][1]))
    result.append(("message-fault", report))
    faults.set_feed_fatal(sandbox.store)
    _, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, cases[0][1]))
    result.append(("fatal-fault", report))
    return result


def test_every_processing_report_validates(sandbox, feeds_client, report_schema):
    produced = reports(sandbox, feeds_client)
    for name, report in produced:
        errors = [
            f"{list(e.absolute_path)}: {e.message}" for e in report_schema.iter_errors(report)
        ]
        assert not errors, (name, errors)
    issue_counts = {name: len(report["issues"]) for name, report in produced}
    assert issue_counts["clean"] == 0 and issue_counts["one-bad"] == 1
    assert min(issue_counts.values()) == 0 and all(
        issue_counts[name] >= 1 for name in issue_counts if name != "clean"
    )
