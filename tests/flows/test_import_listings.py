"""`sync import` round trips: adopt unmanaged live listings from the seeded sandbox into the
config, then plan: no changes for them, and nothing outside them changed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.config import load_config
from engine.core.resource import address
from engine.core.sale import SalePrice
from engine.flows.import_listings import ImportRefused, StillDiffers, import_listings
from engine.flows.plan import build_plan
from engine.flows.schemas import packaged_schemas
from engine.flows.session import live_session
from engine.sandbox import faults
from engine.sandbox.runtime import Sandbox
from tests.conftest import NOW
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)

AT = ["--now", "2026-11-22T12:00:00Z"]
LEGACY = address("US", "LEGACY-HP-100")


def plan(config):
    with live_session(config) as (backend, db):
        return build_plan(config, backend, db, now=NOW)


def live_resources(config, marketplace="US"):
    with live_session(config) as (backend, _):
        return backend.read_listings([marketplace], refresh=True).resources()


def snapshot_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_then_plan_shows_no_changes_for_the_imported_listing(seeded_config, capsys):
    config = seeded_config()
    before = plan(config)
    assert before.plan.unmanaged == (LEGACY,)
    box = Sandbox.open(config.state_dir)  # a price the US rule (x.99) cannot produce
    faults.out_of_band_price(box.account, "US", "LEGACY-HP-100", "61.50")
    box.store.close()
    original = (config.root / "marketplaces" / "DE.yaml").read_text(encoding="utf-8")

    assert main(["--config", str(config.root), "import", "-m", "US", *AT]) == 0
    out = capsys.readouterr().out
    assert "Imported 1 listing(s) from US" in out and "wrote products/imported-US.yaml" in out
    assert "still differs" not in out
    imported = load_config(config.root)
    product = imported.products["LEGACY-HP-100"]
    assert product.marketplaces == ("US",)
    assert product.texts["en"].title == "Sonora HP-100 headphones (old listing)"
    assert imported.marketplaces["US"].overrides["LEGACY-HP-100"].our_price == Decimal("61.50")
    assert (config.root / "marketplaces" / "DE.yaml").read_text(encoding="utf-8") == original

    after = plan(imported)
    assert LEGACY not in {c.address for c in after.plan.changes}
    assert after.plan.unmanaged == ()
    # The other listings plan exactly as before.
    assert after.plan.changes == before.plan.changes


def test_an_existing_marketplace_file_keeps_its_comments_and_gains_the_override(
    seeded_config, capsys
):
    config = seeded_config()
    us = config.root / "marketplaces" / "US.yaml"
    original = (
        "# amazon.com: our home market\nmarketplace: US  # keep\n"
        'pricing:\n  tax_delta: "0.00"  # prices before sales tax\n'
    )
    us.write_text(original, encoding="utf-8")
    config = load_config(config.root)
    live = live_resources(config)
    sale = SalePrice(Decimal("49.99"), NOW - timedelta(days=1), NOW + timedelta(days=6))
    changed = replace(live[LEGACY], sale=sale, our_price=Decimal("61.50"))
    result = import_listings(config, {**live, LEGACY: changed}, "US", "LEGACY-*", NOW)
    assert result.differences == ()
    assert result.extended == (us.relative_to(config.root),)
    text = us.read_text(encoding="utf-8")
    assert text.startswith(original)
    # The live minimum allowed price (the seed's floor) is kept as an override: an imported
    # product has no cost yet, so no floor reproduces it.
    assert 'LEGACY-HP-100: {our_price: "61.50", pricing: {min_price: "22.00"}}' in text
    sales = load_config(config.root).sales
    assert [(s.id, s.price, s.start, s.end) for s in sales] == [
        ("imported-US-LEGACY-HP-100", Decimal("49.99"), sale.start, sale.end)
    ]


def test_refusals_write_nothing(seeded_config):
    config = seeded_config()
    live = live_resources(config)
    files = snapshot_files(config.root)
    with pytest.raises(
        ImportRefused, match=r"SKU HP-100 is already defined at .*/products/audio.yaml:2;"
    ):
        import_listings(config, live, "US", "HP-100", NOW)
    with pytest.raises(ImportRefused, match="no live listing in US matches 'NOPE-\\*'"):
        import_listings(config, live, "US", "NOPE-*", NOW)
    # A pattern only ever adopts what the config does not describe.
    assert import_listings(config, live, "US", "*", NOW).skus == ("LEGACY-HP-100",)
    # New files only: the product, and a US marketplace file for the live minimum allowed
    # price the imported product (no cost, so no floor) cannot reproduce; and the schemas
    # their first lines point at (the config vendors none).
    assert set(snapshot_files(config.root)) - set(files) == {
        Path("products/imported-US.yaml"),
        Path("marketplaces/US.yaml"),
    } | {Path(".schemas") / name for name in packaged_schemas()}
    with pytest.raises(ImportRefused, match="no live listing in US"):
        import_listings(load_config(config.root), live, "US", "*", NOW)


def test_a_second_import_never_overwrites_the_first_file(seeded_config, tmp_path):
    config = seeded_config()
    live = live_resources(config)
    # No live minimum, so no marketplace override file: only the product files are at stake.
    live[LEGACY] = replace(live[LEGACY], minimum_seller_allowed_price=None)
    files = snapshot_files(config.root)
    out = tmp_path / "adopted"
    first = import_listings(config, live, "US", "LEGACY-*", NOW, out)
    second = import_listings(config, live, "US", "LEGACY-*", NOW, out)
    assert [str(p) for p in first.written + second.written] == [
        "products/imported-US.yaml",
        "products/imported-US-2.yaml",
    ]
    assert snapshot_files(config.root) == files  # the config directory is untouched


def test_an_import_that_would_break_the_config_is_refused(seeded_config):
    config = seeded_config()
    live = live_resources(config)
    # Live priced below its own minimum: no valid config says that (Amazon suppresses it).
    broken = replace(
        live[LEGACY], our_price=Decimal("1.00"), minimum_seller_allowed_price=Decimal("5.00")
    )
    files = snapshot_files(config.root)
    with pytest.raises(ImportRefused, match=r"would not make a valid config .*outside the bounds"):
        import_listings(config, {**live, LEGACY: broken}, "US", "LEGACY-*", NOW)
    assert snapshot_files(config.root) == files
    assert not list(config.root.parent.glob(".import-*"))  # the scratch copy is gone


def test_import_json_says_what_was_adopted_and_written(seeded_config, capsys):
    config = seeded_config()
    assert main(["--config", str(config.root), "import", "-m", "US", "--json", *AT]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format_version"] == 1 and data["marketplace"] == "US"
    assert data["imported"] == ["LEGACY-HP-100"]
    assert "products/imported-US.yaml" in data["written"]
    assert data["still_differs"] == [] and data["notes"][0].startswith("Set each imported")
    assert data["config_dir"] == str(config.root)


def test_a_listing_that_still_differs_names_its_fields():
    assert StillDiffers(LEGACY, ("our_price", "title")).describe() == (
        f"{LEGACY}: our_price, title"
    )
    assert StillDiffers(LEGACY, ()).describe() == f"{LEGACY}: not rendered"
