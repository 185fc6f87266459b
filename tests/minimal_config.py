"""A small, valid config written to a temp dir; tests break one piece of it at a time."""

from __future__ import annotations

import textwrap
from pathlib import Path

MINIMAL_FILES: dict[str, str] = {
    "project.yaml": """\
        seller:
          id: A1TESTSELLER
          name: Test Audio
        base:
          marketplace: US
          currency: USD
        marketplaces: [US, DE, JP]
        stock_source:
          kind: csv
          path: stock.csv
          sku_column: sku
          quantity_column: on_hand
        defaults:
          pricing:
            ending: ".99"
            rounding: nearest
          stock:
            alert_level: 5
            max_per_site: 20
            safety_buffer: 2
          promotion_limits:
            max_discount_pct: 40
            floor:
              cost_plus_margin_pct: 10
        """,
    "fx.yaml": """\
        base_currency: USD
        as_of: "2026-11-20"
        source: ECB reference rates
        rates:
          EUR: "0.9200"
          JPY: "150.00"
        """,
    "products/audio.yaml": """\
        products:
          - sku: HP-100
            product_type: HEADPHONES
            brand: Sonora
            cost: {amount: "20.00", currency: USD}
            base_price: "59.99"
            list_price: "79.99"
            fulfillment: MFN
            identifiers: {ean: "4006381333931"}
            texts:
              en: {title: Sonora HP-100 headphones, bullet_points: [Light, Foldable]}
              de: {title: Sonora HP-100 Kopfhörer, bullet_points: [Leicht, Faltbar]}
              ja: {title: Sonora HP-100 ヘッドホン}
          - sku: SPK-1
            product_type: SPEAKERS
            brand: Sonora
            cost: {amount: "30.00", currency: USD}
            base_price: "99.00"
            fulfillment: FBA
            texts:
              en: {title: Sonora SPK-1 speaker}
              de: {title: Sonora SPK-1 Lautsprecher}
              ja: {title: Sonora SPK-1 スピーカー}
        """,
    "marketplaces/DE.yaml": """\
        marketplace: DE
        currency: EUR
        pricing:
          tax_delta: "3.00"
          min_price: "10.00"
          max_price: "500.00"
        """,
    "marketplaces/JP.yaml": """\
        marketplace: JP
        currency: JPY
        pricing:
          ending: "80"
          tax_delta: "0"
        """,
    "stock.csv": "sku,on_hand\nHP-100,30\nSPK-1,12\n",
}

# An optional file the minimal config does not have: one warehouse serving DE and AT.
WAREHOUSES = """\
warehouses:
  - id: eu-leipzig
    location: {latitude: 51.34, longitude: 12.37}
    countries: [DE, AT]
    stock: {path: stock.csv, quantity_column: on_hand}
"""


def write_config(root: Path, changes: dict[str, str | bytes | None] | None = None) -> Path:
    """Write the minimal config into `root`, with `changes` replacing (or, when None,
    deleting) files. Texts are dedented so tests can indent them naturally; bytes are
    written as they are (for files in the wrong encoding)."""
    files: dict[str, str | bytes] = dict(MINIMAL_FILES)
    for name, text in (changes or {}).items():
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def edited(name: str, old: str, new: str, text: str | None = None) -> dict[str, str]:
    """{name: `text` (default: the minimal file `name`) with `old` replaced by `new`}, for
    write_config. Fails when `old` is not there exactly once, so an edit never silently misses."""
    if text is None:
        text = textwrap.dedent(MINIMAL_FILES[name])
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times in {name}, expected once")
    return {name: text.replace(old, new)}


# The minimal config with exposure caps on (MFN listings only, so HP-100): refilled every
# 4 hours, between 2 and 6 units. For write_config.
CAPPED = edited(
    "project.yaml",
    "  promotion_limits:\n",
    "  exposure:\n    refill_every: 4h\n    floor: 2\n    ceiling: 6\n  promotion_limits:\n",
)
