"""Feeds 2021-06-30 driven through python-amazon-sp-api's Feeds client on a frozen clock."""

from __future__ import annotations

import gzip
import io
import json
import time
from xml.etree import ElementTree

import httpx
import pytest
from sp_api.api import Feeds, Reports
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException

from engine.sandbox.documents import URL_LIFETIME_SECONDS, S3Error
from engine.sandbox.jobs import QUEUE_TIME
from tests.sandbox.conftest import (
    APPLIED,
    DE,
    JOB_DONE,
    JP,
    SELLER,
    finished_feed,
    listings_feed,
    quantity_patch,
    required_facts,
    submit_feed,
)


def mfn_quantity(listings_client, sku: str) -> int:
    item = listings_client("DE").get_listings_item(
        SELLER, sku, includedData="fulfillmentAvailability"
    )
    return item.payload["fulfillmentAvailability"][0]["quantity"]


def test_lifecycle_on_a_frozen_clock(sandbox, feeds_client, listings_client):
    feed_id = submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", 42)))
    queued = feeds_client.get_feed(feed_id).payload
    assert queued["processingStatus"] == "IN_QUEUE"
    assert queued["marketplaceIds"] == [DE] and queued["feedType"] == "JSON_LISTINGS_FEED"
    assert "processingStartTime" not in queued and "resultFeedDocumentId" not in queued
    sandbox.advance(QUEUE_TIME)
    running = feeds_client.get_feed(feed_id).payload
    assert running["processingStatus"] == "IN_PROGRESS"
    assert running["processingStartTime"] == "2026-11-22T12:00:30.000Z"
    assert "processingEndTime" not in running
    sandbox.advance(JOB_DONE - QUEUE_TIME)
    done = feeds_client.get_feed(feed_id).payload
    assert done["processingStatus"] == "DONE"
    assert done["processingEndTime"] == "2026-11-22T12:01:30.000Z"
    report = json.loads(feeds_client.get_feed_document(done["resultFeedDocumentId"]))
    assert report["header"] == {"sellerId": SELLER, "version": "2.0", "feedId": feed_id}
    assert report["summary"]["messagesAccepted"] == 1 and report["issues"] == []
    sandbox.advance(APPLIED - JOB_DONE)
    assert mfn_quantity(listings_client, "HP-002") == 42


def test_a_bad_message_is_reported_and_the_others_apply(sandbox, feeds_client, listings_client):
    before = mfn_quantity(listings_client, "HP-006")
    document = listings_feed(
        quantity_patch("HP-005", 11), quantity_patch("HP-006", -3), quantity_patch("HP-007", 13)
    )
    feed, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, document))
    assert feed["processingStatus"] == "DONE"
    assert [(i["messageId"], i["sku"], i["severity"]) for i in report["issues"]] == [
        (2, "HP-006", "ERROR")
    ]
    assert report["issues"][0]["attributeName"] == "fulfillment_availability"
    assert "-3 is below the minimum of 0" in report["issues"][0]["message"]
    assert report["summary"] == {
        "errors": 1,
        "warnings": 0,
        "messagesProcessed": 3,
        "messagesAccepted": 2,
        "messagesInvalid": 1,
    }
    sandbox.advance(APPLIED)
    assert [mfn_quantity(listings_client, s) for s in ("HP-005", "HP-006", "HP-007")] == [
        11,
        before,
        13,
    ]


def test_a_japanese_title_survives_the_round_trip(sandbox, listings_client):
    jp_feeds = Feeds(**sandbox.client_kwargs("JP"))
    title = "ソノラ ワイヤレスヘッドホン HP-001（ブラック）"
    message = {  # the seed left JP HP-001 unlisted: the feed creates it
        "sku": "HP-001",
        "operationType": "UPDATE",
        "productType": "HEADPHONES",
        "attributes": {
            "item_name": [{"value": title, "language_tag": "ja_JP"}],
            **required_facts("ja_JP"),
            "purchasable_offer": [
                {"currency": "JPY", "our_price": [{"schedule": [{"value_with_tax": 2980}]}]}
            ],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}],
        },
    }
    feed_id = submit_feed(jp_feeds, listings_feed(message), marketplace=JP)
    feed, report = finished_feed(sandbox, jp_feeds, feed_id)
    assert feed["processingStatus"] == "DONE" and report["summary"]["messagesAccepted"] == 1
    sandbox.advance(APPLIED)
    item = listings_client("JP").get_listings_item(SELLER, "HP-001").payload
    assert item["summaries"][0]["itemName"] == title
    reports = Reports(**sandbox.client_kwargs("JP"))
    report_id = reports.create_report(
        reportType="GET_MERCHANT_LISTINGS_ALL_DATA", marketplaceIds=[JP]
    ).payload["reportId"]
    sandbox.advance(JOB_DONE)
    document_id = reports.get_report(report_id).payload["reportDocumentId"]
    text = reports.get_report_document(document_id, download=True).payload["document"]
    assert text.splitlines()[1].split("\t")[0] == title


def test_update_replaces_and_delete_removes(sandbox, feeds_client, listings_client):
    update = {
        "sku": "NEW-1",
        "operationType": "UPDATE",
        "productType": "HEADPHONES",
        "attributes": {
            "item_name": [{"value": "Sonora NEW-1", "language_tag": "de_DE"}],
            **required_facts(),
            "purchasable_offer": [
                {"currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 30}]}]}
            ],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 2}],
        },
    }
    delete = {"sku": "HP-010", "operationType": "DELETE"}
    _, report = finished_feed(
        sandbox, feeds_client, submit_feed(feeds_client, listings_feed(update, delete))
    )
    assert report["summary"]["messagesAccepted"] == 2
    sandbox.advance(APPLIED)
    assert mfn_quantity(listings_client, "NEW-1") == 2
    with pytest.raises(SellingApiNotFoundException):
        listings_client("DE").get_listings_item(SELLER, "HP-010")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"header": {"sellerId": "x"}, \xff\xfe}', "not UTF-8"),
        (b"<AmazonEnvelope/>", "not JSON"),
        (json.dumps({"header": {"version": "2.0"}, "messages": []}).encode(), "sellerId"),
        (
            json.dumps(listings_feed(quantity_patch("HP-002", 1), seller="A9OTHER")).encode(),
            "A9OTHER",
        ),
    ],
    ids=["non-utf8", "non-json", "schema", "other-seller"],
)
def test_unacceptable_documents_end_fatal_and_change_nothing(
    sandbox, feeds_client, listings_client, content, reason
):
    before = mfn_quantity(listings_client, "HP-002")
    feed, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, content))
    assert feed["processingStatus"] == "FATAL"
    assert report["summary"]["messagesProcessed"] == 0
    assert any(reason in issue["message"] for issue in report["issues"])
    assert all(issue["code"] == "INVALID_FEED_DOCUMENT" for issue in report["issues"])
    sandbox.advance(APPLIED)
    assert mfn_quantity(listings_client, "HP-002") == before


def test_a_schema_violation_in_one_message_rejects_the_whole_feed(sandbox, feeds_client):
    broken = {"sku": "HP-003", "operationType": "PATCH", "productType": "HEADPHONES"}
    document = listings_feed(quantity_patch("HP-002", 1), broken)
    feed, report = finished_feed(sandbox, feeds_client, submit_feed(feeds_client, document))
    assert feed["processingStatus"] == "FATAL"
    (issue,) = report["issues"]
    assert (issue["messageId"], issue["sku"]) == (2, "HP-003")
    assert issue["message"] == "messages[1].patches: is required for PATCH."


def test_cancel_only_while_in_queue(sandbox, feeds_client):
    first = submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", 1)))
    feeds_client.cancel_feed(first)
    sandbox.advance(JOB_DONE)
    cancelled = feeds_client.get_feed(first).payload
    assert cancelled["processingStatus"] == "CANCELLED"
    assert "processingStartTime" not in cancelled and "resultFeedDocumentId" not in cancelled
    second = submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", 1)))
    sandbox.advance(QUEUE_TIME)
    with pytest.raises(SellingApiBadRequestException, match="IN_PROGRESS"):
        feeds_client.cancel_feed(second)
    with pytest.raises(SellingApiNotFoundException):
        feeds_client.get_feed("999999")


def test_create_feed_refuses_bad_types_and_documents(sandbox, feeds_client):
    uploaded = feeds_client.create_feed_document(io.BytesIO(b"{}"), "application/json").payload
    with pytest.raises(SellingApiBadRequestException, match="feedType"):
        feeds_client.create_feed("POST_PRODUCT_DATA", uploaded["feedDocumentId"])
    with pytest.raises(SellingApiBadRequestException, match="inputFeedDocumentId"):
        feeds_client.create_feed("JSON_LISTINGS_FEED", "amzn1.tortuga.4.sandbox.nope")
    empty = feeds_client.create_feed_document(None, "application/json").payload
    with pytest.raises(SellingApiBadRequestException, match="inputFeedDocumentId"):
        feeds_client.create_feed("JSON_LISTINGS_FEED", empty["feedDocumentId"])
    with pytest.raises(SellingApiBadRequestException, match="marketplace"):
        feeds_client.create_feed(
            "JSON_LISTINGS_FEED", uploaded["feedDocumentId"], marketplaceIds=["ATVPDKIKX0DER"]
        )
    feeds_client.create_feed("JSON_LISTINGS_FEED", uploaded["feedDocumentId"])
    with pytest.raises(SellingApiBadRequestException, match="one feed only"):
        feeds_client.create_feed("JSON_LISTINGS_FEED", uploaded["feedDocumentId"])
    consumed = httpx.put(
        uploaded["url"], content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert consumed.status_code == 403  # sealed by the feed
    assert s3_error(consumed) == ("AccessDenied", "Access Denied")


def s3_error(response: httpx.Response) -> tuple[str, str]:
    """The Code and Message of S3's XML error document."""
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("RequestId") and root.findtext("HostId")
    return root.findtext("Code") or "", root.findtext("Message") or ""


def test_upload_urls_are_signed_over_the_content_type_as_s3_presigned_urls_are(feeds_client):
    created = feeds_client.create_feed_document(None, "application/json; charset=UTF-8").payload
    for sent in ({"Content-Type": "text/plain"}, {"Content-Type": "application/json"}, {}):
        refused = httpx.put(created["url"], content=b"{}", headers=sent)
        assert refused.status_code == 403
        assert s3_error(refused)[0] == "SignatureDoesNotMatch"
    signed = {"Content-Type": "application/json; charset=UTF-8"}
    assert httpx.put(created["url"], content=b"{}", headers=signed).status_code == 200
    unknown = httpx.put(created["url"] + "x", content=b"{}", headers=signed)
    assert s3_error(unknown) == ("AccessDenied", "Access Denied")


def test_document_urls_expire_after_five_minutes_with_s3s_error(sandbox, feeds_client):
    created = feeds_client.create_feed_document(None, "application/json").payload
    token = created["url"].rsplit("/", 1)[1]
    documents = sandbox.app.bulk.documents
    issued = time.time()
    documents.upload(token, b"{}", "application/json", issued + URL_LIFETIME_SECONDS - 5)
    with pytest.raises(S3Error) as late:
        documents.upload(token, b"{}", "application/json", issued + URL_LIFETIME_SECONDS + 2)
    assert (late.value.status, late.value.code, late.value.message) == (
        403,
        "AccessDenied",
        "Request has expired",
    )
    root = ElementTree.fromstring(late.value.xml("REQ1"))
    assert root.findtext("X-Amz-Expires") == "300"
    assert root.findtext("Expires") < root.findtext("ServerTime")


def test_document_urls_need_no_token_and_are_bound_to_one_use(sandbox, feeds_client):
    created = feeds_client.create_feed_document(None, "application/json").payload
    url = created["url"]
    token = url.rsplit("/", 1)[1]
    assert url.startswith(sandbox.url + "/sandbox-documents/") and len(token) >= 40
    assert httpx.get(url).status_code == 403  # an upload URL does not download
    signed = {"Content-Type": "application/json"}
    assert httpx.put(url + "x", content=b"{}", headers=signed).status_code == 403
    assert httpx.put(url, content=b"{}", headers=signed).status_code == 200
    sandbox.store.close()
    assert token.encode() not in (sandbox.store.path).read_bytes()


def test_get_feeds_filters_and_pages(sandbox, feeds_client):
    ids = [submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", n))) for n in (1, 2, 3)]
    feeds_client.cancel_feed(ids[0])
    first = feeds_client.get_feeds(feedTypes=["JSON_LISTINGS_FEED"], pageSize=2)
    assert [f["feedId"] for f in first.payload["feeds"]] == [ids[2], ids[1]]
    assert first.next_token
    rest = feeds_client.get_feeds(nextToken=first.next_token)
    assert [f["feedId"] for f in rest.payload["feeds"]] == [ids[0]] and rest.next_token is None
    cancelled = feeds_client.get_feeds(
        feedTypes="JSON_LISTINGS_FEED", processingStatuses="CANCELLED"
    ).payload
    assert [f["feedId"] for f in cancelled["feeds"]] == [ids[0]]
    with pytest.raises(SellingApiBadRequestException, match="feedTypes"):
        feeds_client.get_feeds(pageSize=2)
    with pytest.raises(SellingApiBadRequestException, match="only parameter"):
        feeds_client.get_feeds(nextToken=first.next_token, pageSize=2)
    with pytest.raises(SellingApiBadRequestException, match="nextToken"):
        feeds_client.get_feeds(nextToken="garbage")


def test_large_results_are_gzipped(open_sandbox):
    box = open_sandbox(rate_limits=False, gzip_threshold=200)
    client = Feeds(**box.client_kwargs("DE"))
    document = listings_feed(*(quantity_patch(f"HP-{i:03d}", -1) for i in range(5)))
    feed_id = submit_feed(client, document)
    box.advance(JOB_DONE)
    document_id = client.get_feed(feed_id).payload["resultFeedDocumentId"]
    grant = box.app.bulk.feeds.document(document_id, time.time())
    assert grant.compression == "GZIP"
    stored = httpx.get(f"{box.url}/sandbox-documents/{grant.token}").content
    report = json.loads(gzip.decompress(stored))
    assert report["summary"]["messagesInvalid"] == 5
    assert json.loads(client.get_feed_document(document_id)) == report  # the library gunzips


def test_reset_clears_feeds_reports_and_documents(sandbox, feeds_client, reports_client):
    feed_id = submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", 1)))
    report_id = reports_client.create_report(
        reportType="GET_MERCHANT_LISTINGS_ALL_DATA", marketplaceIds=[DE]
    ).payload["reportId"]
    sandbox.advance(JOB_DONE)
    document_id = feeds_client.get_feed(feed_id).payload["resultFeedDocumentId"]
    grant = sandbox.app.bulk.feeds.document(document_id, time.time())
    sandbox.reset()
    with pytest.raises(SellingApiNotFoundException):
        feeds_client.get_feed(feed_id)
    with pytest.raises(SellingApiNotFoundException):
        reports_client.get_report(report_id)
    with pytest.raises(SellingApiNotFoundException):
        reports_client.get_report_document(document_id)
    assert httpx.get(f"{sandbox.url}/sandbox-documents/{grant.token}").status_code == 403
    assert feeds_client.get_feeds(feedTypes="JSON_LISTINGS_FEED").payload["feeds"] == []
    assert submit_feed(feeds_client, listings_feed(quantity_patch("HP-002", 1))) != feed_id
