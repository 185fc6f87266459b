"""Report builders over the sandbox's listings: merchant listings and FBA inventory.

Both are tab-separated with a header row of Amazon's column names in Amazon's order, one
marketplace per report, built from the listings as processed at the report's end (queued
writes that are due are applied first).

Encoding: UTF-8, always, served as `charset=UTF-8`. Amazon writes some EU flat-file reports
in Cp1252 and others in UTF-8 (Shift_JIS-compatible Windows-31J for some JP ones); one
encoding that every title survives (Japanese ones included) keeps the sandbox's reports
readable by any client that honours the declared charset, as python-amazon-sp-api does.
Values never contain tabs or line breaks (they become spaces), so rows stay rows.

The `report_variant` fault (engine.sandbox.faults.set_report_variant) serves merchant
listings reports the messier ways Amazon has: `de_legacy` as German accounts have seen them
("Deprecated column" placeholders, "fulfilment-channel", two extra columns at the end;
amzn/selling-partner-api-models #3999, #4140), `jp_cp932` with Japanese headers in cp932
(Shift_JIS) and no declared charset (selling-partner-api-docs #2086); a character cp932
cannot hold becomes "?" there, as it would in a legacy-encoded file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from engine.core.marketplaces import BY_ID, fba_channel_code
from engine.sandbox import listings
from engine.sandbox.jobs import Outcome
from engine.sandbox.reports import ReportContext
from engine.sandbox.store import Listing

TSV_UTF8 = "text/tab-separated-values; charset=UTF-8"
MERCHANT_LISTINGS_COLUMNS = (
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
)
# The report_variant fault's headers (see the module docstring). "Deprecated column" repeats:
# the builder leaves those cells empty, as Amazon does.
DEPRECATED = "Deprecated column"
DE_LEGACY_HEADERS = {
    **dict.fromkeys(
        (
            "image-url",
            "zshop-shipping-fee",
            "zshop-category1",
            "zshop-browse-path",
            "zshop-storefront-feature",
            "asin2",
            "asin3",
            "zshop-boldface",
            "bid-for-featured-placement",
        ),
        DEPRECATED,
    ),
    "fulfillment-channel": "fulfilment-channel",
}
DE_LEGACY_EXTRA_COLUMNS = ["Minimum order quantity", "Sell remainder"]
JP_HEADERS = {
    "item-name": "商品名",
    "item-description": "商品の説明",
    "seller-sku": "出品者SKU",
    "price": "価格",
    "quantity": "数量",
    "asin1": "ASIN 1",
    "fulfillment-channel": "フルフィルメント・チャネル",
    "status": "ステータス",
}
TSV_NO_CHARSET = "text/tab-separated-values"
FBA_INVENTORY_COLUMNS = (
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "per-unit-volume",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
)
# FBA stock the sandbox does not model (always 0 in its reports).
_UNTRACKED_FBA_QUANTITIES = (
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
)
# Amazon's product-id-type codes in merchant listings reports (1 is the ASIN itself).
_PRODUCT_ID_TYPES = {"isbn": "2", "upc": "3", "ean": "4"}
_NEW_CONDITION = "11"  # Amazon's item-condition code for New
_DEFAULT_SHIPPING_GROUP = "Migrated Template"  # the template every MFN offer starts with


def _cell(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def tsv(columns: Sequence[str], rows: Iterable[dict[str, object]]) -> bytes:
    """A header row and one line per row, in column order; missing cells are empty."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(c)) for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _listing_rows(
    context: ReportContext, *, lagging: bool = False
) -> list[tuple[Listing, list[dict[str, object]]]]:
    """Each listing of the report's marketplace with its issues; `lagging`: as they were the
    timing profile's report lag before the report's end (engine.sandbox.timing)."""
    account = context.account
    (marketplace_id,) = context.report.marketplace_ids
    lag = account.timings.report_lag() if lagging else timedelta(0)
    with account.store.read() as tx:
        if lag > timedelta(0):
            found = tx.listings_as_of(
                account.seller_id, marketplace_id, context.report.end_at - lag
            )
        else:
            found = tx.listings(account.seller_id, [marketplace_id])
        return [(li, tx.issues(account.seller_id, li.sku, marketplace_id)) for li in found]


def _price(listing: Listing) -> str:
    offer = listings.main_offer(listing.attributes)
    price = None if offer is None else listings.first_price(offer, "our_price")
    return "" if price is None else f"{price:f}"


def _listing_id(listing: Listing) -> str:
    """A stable, Amazon-shaped listing id (ten digits and a letter-digit suffix)."""
    digest = hashlib.sha256(f"{listing.marketplace_id}/{listing.sku}".encode()).hexdigest()
    return f"{int(digest[:12], 16) % 10**10:010d}" + digest[12:15].upper()


def _open_date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _product_id(listing: Listing) -> tuple[str, str]:
    for value in listing.attributes.get("externally_assigned_product_identifier") or ():
        kind = str(value.get("type", "")).lower()
        if kind in _PRODUCT_ID_TYPES and isinstance(value.get("value"), str):
            return _PRODUCT_ID_TYPES[kind], value["value"]
    return "1", listing.asin


def merchant_listings(context: ReportContext) -> Outcome:
    """GET_MERCHANT_LISTINGS_ALL_DATA: every listing, active or not, as it was the timing
    profile's report lag ago (none in `fast`)."""
    rows = []
    for listing, issues in _listing_rows(context, lagging=True):
        attrs = listing.attributes
        fba = listings.is_fba(attrs)
        quantity = None if fba else listings.mfn_quantity(attrs)
        inactive = listings.suppressed(issues) or (not fba and not quantity)
        mkt = BY_ID[listing.marketplace_id]
        id_type, product_id = _product_id(listing)
        rows.append(
            {
                "item-name": listings.text(attrs, "item_name"),
                "item-description": listings.text(attrs, "product_description"),
                "listing-id": _listing_id(listing),
                "seller-sku": listing.sku,
                "price": _price(listing),
                "quantity": quantity,
                "open-date": _open_date(listing.created_at),
                "item-is-marketplace": "y",
                "product-id-type": id_type,
                "item-condition": _NEW_CONDITION,
                "asin1": listing.asin,
                "product-id": product_id,
                "fulfillment-channel": fba_channel_code(mkt) if fba else "DEFAULT",
                "merchant-shipping-group": None if fba else _DEFAULT_SHIPPING_GROUP,
                "status": "Inactive" if inactive else "Active",
            }
        )
    if not rows:
        return Outcome("CANCELLED")
    with context.account.store.read() as tx:
        variant = tx.faults().get("report_variant", {}).get("variant")
    if variant == "de_legacy":
        header = [DE_LEGACY_HEADERS.get(c, c) for c in MERCHANT_LISTINGS_COLUMNS]
        header += DE_LEGACY_EXTRA_COLUMNS
        cells = [{DE_LEGACY_HEADERS.get(k, k): v for k, v in row.items()} for row in rows]
        return Outcome("DONE", tsv(header, cells), TSV_UTF8)
    if variant == "jp_cp932":
        header = [JP_HEADERS.get(c, c) for c in MERCHANT_LISTINGS_COLUMNS]
        cells = [{JP_HEADERS.get(k, k): v for k, v in row.items()} for row in rows]
        text = tsv(header, cells).decode("utf-8")
        return Outcome("DONE", text.encode("cp932", errors="replace"), TSV_NO_CHARSET)
    return Outcome("DONE", tsv(MERCHANT_LISTINGS_COLUMNS, rows), TSV_UTF8)


def fba_inventory(context: ReportContext) -> Outcome:
    """GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA: FBA listings that are not suppressed, with
    the quantity Amazon holds. The sandbox keeps one number per listing (fulfillable units);
    inbound, reserved, unsellable and researching stock are always 0 here."""
    rows = []
    for listing, issues in _listing_rows(context):
        if listing.fba_quantity is None or listings.suppressed(issues):
            continue
        quantity = listing.fba_quantity
        mfn = listings.mfn_quantity(listing.attributes)
        rows.append(
            {
                "sku": listing.sku,
                "fnsku": fnsku(listing),
                "asin": listing.asin,
                "product-name": listings.text(listing.attributes, "item_name"),
                "condition": "New",
                "your-price": _price(listing),
                "mfn-listing-exists": "Yes" if mfn is not None else "No",
                "mfn-fulfillable-quantity": mfn,
                "afn-listing-exists": "Yes",
                "afn-warehouse-quantity": quantity,
                "afn-fulfillable-quantity": quantity,
                "afn-total-quantity": quantity,
                **dict.fromkeys(_UNTRACKED_FBA_QUANTITIES, 0),
            }
        )
    if not rows:
        return Outcome("CANCELLED")
    return Outcome("DONE", tsv(FBA_INVENTORY_COLUMNS, rows), TSV_UTF8)


def fnsku(listing: Listing) -> str:
    """Amazon labels new, barcoded products with their ASIN as FNSKU (manufacturer barcode);
    the sandbox does so for every FBA listing."""
    return listing.asin
