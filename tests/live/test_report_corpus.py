"""Listings reports as Amazon really sends them: header variants, placeholder and extra
columns, and encodings (tests/live/report_corpus), decoded and parsed to the same rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.live.bulk_read import (
    ReportFormatError,
    charset_of,
    decode_report,
    parse_listings_report,
)

CORPUS = Path(__file__).parent / "report_corpus"


@pytest.mark.parametrize(
    ("name", "charset", "title", "price", "second_price"),
    [
        ("us_standard.tsv", None, "Sonora Kopfhörer", "19.99", "7.50"),
        ("utf8_bom_crlf.tsv", None, "Sonora Kopfhörer", "19.99", "7.50"),
        ("de_legacy.tsv", None, "Sonora Kopfhörer", "19.99", "7.50"),
        ("jp_cp932.tsv", None, "ソノラ ヘッドホン", "1980", "750"),
        ("jp_cp932.tsv", "Windows-31J", "ソノラ ヘッドホン", "1980", "750"),
        ("jp_cp932.tsv", "Shift_JIS", "ソノラ ヘッドホン", "1980", "750"),
        ("cp1252_undeclared.tsv", "windows-1252", "Sonora Kopfhörer", "19.99", "7.50"),
    ],
)
def test_every_variant_reads_as_the_same_rows(name, charset, title, price, second_price):
    rows = parse_listings_report(decode_report((CORPUS / name).read_bytes(), charset, name))
    assert sorted(rows) == ["HP-100", "HP-200"]
    first, second = rows["HP-100"], rows["HP-200"]
    assert (first.title, first.price, first.quantity) == (title, Decimal(price), 3)
    assert first.fulfillment_channel == "MFN" and first.asin == "B0TEST0100"
    assert first.status == "Active"
    assert (second.price, second.quantity) == (Decimal(second_price), None)
    assert second.fulfillment_channel == "FBA"


def test_undeclared_cp1252_is_refused_naming_the_report_not_misread_as_cp932():
    data = (CORPUS / "cp1252_undeclared.tsv").read_bytes()
    with pytest.raises(ReportFormatError, match=r"^the DE report is not UTF-8 or cp932"):
        decode_report(data, None, "the DE report")


def test_a_report_without_a_known_channel_column_still_says_which_is_missing():
    text = "seller-sku\tprice\tquantity\tDeprecated column\tstatus\nA\t1.00\t1\t\tActive\n"
    with pytest.raises(ReportFormatError, match=r"no column\(s\) fulfillment-channel"):
        parse_listings_report(text)


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("text/tab-separated-values; charset=UTF-8", "UTF-8"),
        ('text/plain;charset="Windows-31J"', "Windows-31J"),
        ("text/tab-separated-values", None),
        (None, None),
    ],
)
def test_the_charset_comes_from_the_content_type(content_type, charset):
    assert charset_of(content_type) == charset
