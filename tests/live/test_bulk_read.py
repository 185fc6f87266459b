"""The listings report, the snapshot cache and the 'what needs detail' decision (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.core.fields import MANAGED_FIELDS
from engine.core.sale import SalePrice
from engine.live.backend import LiveListing
from engine.live.bulk_read import (
    CachedListing,
    ReportFormatError,
    Snapshot,
    SnapshotCache,
    decode_report,
    known_listing,
    parse_listings_report,
    stand_in,
)
from tests.sandbox.conftest import make_resource

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HEADER = (
    "item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\topen-date\t"
    "image-url\titem-is-marketplace\tproduct-id-type\tzshop-shipping-fee\titem-note\t"
    "item-condition\tzshop-category1\tzshop-browse-path\tzshop-storefront-feature\tasin1\t"
    "asin2\tasin3\twill-ship-internationally\texpedited-shipping\tzshop-boldface\tproduct-id\t"
    "bid-for-featured-placement\tadd-delete\tpending-quantity\tfulfillment-channel\t"
    "merchant-shipping-group\tstatus"
)


def row(
    sku: str,
    price: str,
    quantity: str,
    channel: str = "DEFAULT",
    name: str = "",
    description: str = "",
    status: str = "Active",
) -> str:
    cells = dict.fromkeys(HEADER.split("\t"), "")
    cells.update(
        {
            "item-name": name or f"Sonora {sku}",
            "item-description": description,
            "seller-sku": sku,
            "price": price,
            "quantity": quantity,
            "asin1": "B0TEST0001",
            "fulfillment-channel": channel,
            "status": status,
            "open-date": "2026-05-01 10:00:00 PDT",
        }
    )
    return "\t".join(cells.values())


def report(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_parses_mfn_fba_and_blank_quantities():
    rows = parse_listings_report(
        report(row("HP-1", "19.99", "3"), row("HP-2", "24,99", "", "AMAZON_EU"))
    )
    assert rows["HP-1"].price == Decimal("19.99") and rows["HP-1"].quantity == 3
    assert rows["HP-1"].fulfillment_channel == "MFN"
    assert rows["HP-2"].price == Decimal("24.99") and rows["HP-2"].quantity is None
    assert rows["HP-2"].fulfillment_channel == "FBA" and rows["HP-2"].asin == "B0TEST0001"


def test_digest_changes_with_watched_columns_only():
    base = parse_listings_report(report(row("A", "1.00", "1")))["A"].digest
    assert parse_listings_report(report(row("A", "1.00", "1")))["A"].digest == base
    assert parse_listings_report(report(row("A", "1.01", "1")))["A"].digest != base
    assert parse_listings_report(report(row("A", "1.00", "2")))["A"].digest != base
    assert parse_listings_report(report(row("A", "1.00", "1", name="New")))["A"].digest != base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seller-sku\tprice\n", "no column(s) quantity, fulfillment-channel, status"),
        (report(row("A", "cheap", "1")), "line 2: price 'cheap' is not an amount"),
        (report(row("A", "1.00", "-1")), "line 2: quantity '-1' is not a whole number"),
        (report(row("", "1.00", "1")), "line 2: no seller-sku"),
    ],
)
def test_bad_reports_say_what_and_where(text, message):
    with pytest.raises(ReportFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_listings_report(text)


def test_decoding_honours_the_charset_and_the_bom():
    assert decode_report("\ufeffソノラ".encode()) == "ソノラ"
    assert decode_report("Kopfhörer".encode("cp1252"), "cp1252") == "Kopfhörer"
    with pytest.raises(ReportFormatError, match="not UTF-8"):
        decode_report("Kopfhörer".encode("cp1252"))


def _snapshot(*listings: LiveListing, digests: dict[str, str]) -> Snapshot:
    return Snapshot(
        "DE",
        NOW,
        {li.resource.sku: CachedListing(digests[li.resource.sku], li) for li in listings},
    )


def needing_detail(rows, cached=None, wanted=None, applied=None) -> list[str]:
    entries = cached.entries if cached is not None else {}
    return [
        sku
        for sku, r in rows.items()
        if known_listing(
            "DE", r, entries.get(sku), (applied or {}).get(sku), (wanted or {}).get(sku)
        )
        is None
    ]


def test_detail_only_where_needed():
    sale = SalePrice(Decimal("9.99"), NOW, NOW.replace(day=30))
    same, changed, on_sale, planned, wanted_sale = (
        make_resource("DE", sku, "19.99") for sku in ("SAME", "CHANGED", "SALE", "PLAN", "WSALE")
    )
    on_sale = replace(on_sale, sale=sale)
    rows = parse_listings_report(
        report(
            *(
                row(sku, "19.99", "10")
                for sku in ("SAME", "CHANGED", "SALE", "PLAN", "WSALE", "NEW")
            )
        )
    )
    digests = {sku: r.digest for sku, r in rows.items()}
    digests["CHANGED"] = "old"
    cached = _snapshot(
        *(LiveListing(r) for r in (same, changed, on_sale, planned, wanted_sale)), digests=digests
    )
    wanted = {
        "SAME": same,
        "PLAN": replace(planned, our_price=Decimal("21.99")),
        "WSALE": replace(wanted_sale, sale=sale),
    }
    assert needing_detail(rows, cached, wanted) == ["CHANGED", "SALE", "PLAN", "WSALE", "NEW"]
    assert needing_detail(rows) == list(rows)
    assert known_listing("DE", rows["SAME"], cached.entries["SAME"], None, same).resource == same


def test_fba_quantity_is_not_a_planned_change():
    fba = make_resource("DE", "FBA", "19.99", fba=True)
    rows = parse_listings_report(report(row("FBA", "19.99", "", "AMAZON_EU")))
    cached = _snapshot(LiveListing(fba), digests={"FBA": rows["FBA"].digest})
    assert needing_detail(rows, cached, {"FBA": fba}) == []


def applied_values(resource) -> dict:
    return {name: getattr(resource, name) for name in MANAGED_FIELDS}


def test_a_row_that_agrees_with_the_last_applied_values_stands_in_for_detail():
    mfn = replace(make_resource("DE", "MFN", "19.99"), description="Faltbar")
    fba = make_resource("DE", "FBA", "24.99", fba=True)
    rows = parse_listings_report(
        report(
            row("MFN", "19.990", str(mfn.quantity), name=mfn.title, description="Faltbar"),
            row("FBA", "24.99", "", "AMAZON_EU", name=fba.title, description=fba.description),
        )
    )
    for resource in (mfn, fba):
        found = stand_in("DE", rows[resource.sku], applied_values(resource))
        # Currency and language are DE's; identifiers are unknown until detail is fetched.
        assert found == LiveListing(replace(resource, identifiers=()), asin="B0TEST0001")
    applied = {"MFN": applied_values(mfn), "FBA": applied_values(fba)}
    # A stale cache entry does not matter when the row agrees with what was applied.
    stale = _snapshot(LiveListing(replace(mfn, brand="Old")), digests={"MFN": "old"})
    assert needing_detail(rows, stale, {"MFN": mfn, "FBA": fba}, applied) == []
    # ... but a planned change still needs detail: a write starts from current detail.
    assert needing_detail(rows, None, {"MFN": replace(mfn, brand="New")}, applied) == ["MFN"]


@pytest.mark.parametrize(
    ("cells", "applied_change"),
    [
        ({"price": "18.99"}, {}),
        ({"quantity": "3"}, {}),
        ({"name": "Renamed in Seller Central"}, {}),
        ({"description": "Edited"}, {}),
        ({"status": "Inactive"}, {}),
        ({"channel": "AMAZON_EU", "quantity": ""}, {}),
        ({}, {"sale": SalePrice(Decimal("9.99"), NOW, NOW.replace(day=30))}),
        ({}, {"missing": "brand"}),
    ],
)
def test_a_row_that_disagrees_with_the_last_applied_values_needs_detail(cells, applied_change):
    mfn = make_resource("DE", "MFN", "19.99")
    agreeing = {
        "price": "19.99",
        "quantity": str(mfn.quantity),
        "name": mfn.title,
        "description": mfn.description,
    }
    rows = parse_listings_report(report(row("MFN", **agreeing)))
    assert needing_detail(rows, None, {}, {"MFN": applied_values(mfn)}) == []
    rows = parse_listings_report(report(row("MFN", **(agreeing | cells))))
    applied = applied_values(mfn) | applied_change
    if "missing" in applied:
        del applied[applied.pop("missing")]
    assert needing_detail(rows, None, {}, {"MFN": applied}) == ["MFN"]


def test_cache_round_trips_and_reports_corruption(tmp_path):
    cache = SnapshotCache(tmp_path)
    assert cache.load("DE") is None
    listing = LiveListing(
        make_resource("DE", "HP-1", "19.99"),
        ("BUYABLE",),
        ({"code": "X", "severity": "WARNING"},),
        "B0X",
    )
    snapshot = _snapshot(listing, digests={"HP-1": "d1"})
    cache.save(snapshot)
    assert cache.load("DE") == snapshot
    cache.path("DE").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportFormatError, match="corrupt snapshot"):
        cache.load("DE")


def test_cache_shares_repeated_texts_and_refuses_the_older_format(tmp_path):
    cache = SnapshotCache(tmp_path)
    on_sale = replace(
        make_resource("DE", "HP-2", "19.99"),
        list_price=Decimal("24.99"),
        sale=SalePrice(Decimal("17.99"), NOW, NOW.replace(year=2027)),
    )
    listings = [
        LiveListing(make_resource("DE", "HP-1", "19.99"), ("BUYABLE",), (), None),
        LiveListing(on_sale, ("BUYABLE",), ({"code": "X"},), "B0X"),
    ]
    snapshot = _snapshot(*listings, digests={"HP-1": "d1", "HP-2": "d2"})
    cache.save(snapshot)
    loaded = cache.load("DE")
    assert loaded == snapshot
    first, second = (loaded.entries[sku].listing.resource for sku in ("HP-1", "HP-2"))
    assert first.our_price is second.our_price  # one Decimal for equal amounts
    data = json.loads(cache.path("DE").read_text(encoding="utf-8"))
    assert data["strings"].count("19.99") == 1
    old = {
        "marketplace": "DE",
        "taken_at": snapshot.taken_at.isoformat(),
        "entries": {"HP-1": {"digest": "d1", "listing": listings[0].to_dict()}},
    }
    cache.path("DE").write_text(json.dumps(old), encoding="utf-8")
    assert cache.load("DE") is None  # an older format is no cache: the next refresh rewrites it


def test_every_field_comes_back_in_its_own_place(tmp_path):
    # Rows are decoded positionally: a value in the wrong column must not go unnoticed, so
    # every field here holds a value no other field could hold.
    resource = replace(
        make_resource("DE", "HP-9", "19.99"),
        product_type="EARBUDS",
        title="Title",
        brand="Brand",
        bullet_points=("one", "two"),
        description="Description",
        list_price=Decimal("29.99"),
        sale=SalePrice(Decimal("17.99"), NOW, NOW.replace(year=2027)),
        minimum_seller_allowed_price=Decimal("9.99"),
        maximum_seller_allowed_price=Decimal("99.99"),
        quantity=7,
        identifiers=(("ean", "4006381333931"), ("upc", "012345678905")),
    )
    cache = SnapshotCache(tmp_path)
    cache.save(_snapshot(LiveListing(resource, ("BUYABLE",), (), "B0X"), digests={"HP-9": "d"}))
    loaded = cache.load("DE").entries["HP-9"].listing.resource  # type: ignore[union-attr]
    assert loaded.to_dict() == resource.to_dict()
    assert loaded == resource
