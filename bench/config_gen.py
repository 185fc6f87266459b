"""Synthetic config generator: N SKUs × M marketplaces, shaped like a real catalog.

    python bench/config_gen.py OUT_DIR --skus 10000 --marketplaces 10

Products get texts in every language the chosen marketplaces need (title, two bullet
points, a description), prices and costs spread over a realistic range, a mix of MFN and
FBA, and products split over files of 5,000. Output is deterministic for given arguments.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from engine.core.marketplaces import MARKETPLACES

ORDER = ["US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "JP", "NL", "SE", "PL", "AU", "SG"]
RATES = {
    "USD": "1",
    "CAD": "1.3950",
    "MXN": "18.2100",
    "GBP": "0.7850",
    "EUR": "0.9200",
    "JPY": "150.0000",
    "SEK": "10.6500",
    "PLN": "3.9800",
    "AUD": "1.5300",
    "SGD": "1.3200",
}
PER_FILE = 5000


def generate(out: Path, skus: int, marketplaces: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    codes = ORDER[:marketplaces]
    if out.exists():
        shutil.rmtree(out)
    (out / "products").mkdir(parents=True)
    (out / "marketplaces").mkdir()
    languages = sorted({MARKETPLACES[c].language for c in codes})
    currencies = sorted({MARKETPLACES[c].currency for c in codes} - {"USD"})
    (out / "project.yaml").write_text(
        "seller: {id: A1BENCHSELLER, name: Bench}\n"
        "base: {marketplace: US, currency: USD}\n"
        f"marketplaces: [{', '.join(codes)}]\n"
        "stock_source: {kind: csv, path: stock.csv, sku_column: sku, quantity_column: on_hand}\n"
        "defaults:\n"
        '  pricing: {ending: ".99", rounding: nearest}\n'
        "  stock: {alert_level: 5, max_per_site: 40, safety_buffer: 3}\n"
        "  promotion_limits: {max_discount_pct: 40, floor: {cost_plus_margin_pct: 10}}\n",
        encoding="utf-8",
    )
    rates = "\n".join(f'  {c}: "{RATES[c]}"' for c in currencies)
    (out / "fx.yaml").write_text(
        f'base_currency: USD\nas_of: "2026-11-20"\nsource: bench\nrates:\n{rates}\n',
        encoding="utf-8",
    )
    for code in codes:
        cur = MARKETPLACES[code].currency
        ending = '\n  ending: "80"' if cur == "JPY" else ""
        (out / "marketplaces" / f"{code}.yaml").write_text(
            f'marketplace: {code}\ncurrency: {cur}\npricing:\n  tax_delta: "1"{ending}\n',
            encoding="utf-8",
        )
    stock_lines = ["sku,on_hand"]
    for start in range(0, skus, PER_FILE):
        lines = ["products:"]
        for n in range(start, min(skus, start + PER_FILE)):
            sku = f"SKU-{n:07d}"
            base = rng.randint(500, 50000)
            cost = base * rng.randint(30, 65) // 100
            fba = rng.random() < 0.2
            lines += [
                f"  - sku: {sku}",
                "    product_type: HEADPHONES",
                "    brand: Bench",
                f'    cost: {{amount: "{cost // 100}.{cost % 100:02d}", currency: USD}}',
                f'    base_price: "{base // 100}.{base % 100:02d}"',
                f"    fulfillment: {'FBA' if fba else 'MFN'}",
                "    texts:",
            ]
            for lang in languages:
                lines += [
                    f"      {lang}:",
                    f"        title: Bench product {n} ({lang}) wireless over-ear headphones",
                    f"        bullet_points: [Long battery life {lang}, Foldable design {lang}]",
                    f"        description: Synthetic description for {sku} in {lang}.",
                ]
            if not fba:
                stock_lines.append(f"{sku},{rng.randint(0, 400)}")
        (out / "products" / f"part-{start // PER_FILE:03d}.yaml").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
    (out / "stock.csv").write_text("\n".join(stock_lines) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--marketplaces", type=int, default=10, choices=range(1, len(ORDER) + 1))
    args = parser.parse_args()
    generate(args.out, args.skus, args.marketplaces)
    print(f"wrote {args.out}: {args.skus} SKUs × {args.marketplaces} marketplaces")


if __name__ == "__main__":
    main()
