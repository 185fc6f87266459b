"""The example seller in config/ is the demo everything else uses: it must stay valid."""

from pathlib import Path

import pytest

from engine.config import load_config
from engine.config.discovery import FOLDER_KINDS, TOP_LEVEL_KINDS
from engine.desired.render import explain, render
from tests.conftest import NOW

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def example():
    return load_config(EXAMPLE)


def test_example_is_a_complete_demo_seller(example):
    assert list(example.marketplaces) == ["US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "JP"]
    assert 35 <= len(example.products) <= 45
    assert any(sku.startswith("HP-") for sku in example.products)
    assert {p.fulfillment for p in example.products.values()} == {"MFN", "FBA"}
    assert len(example.sales) == 2
    assert len(example.promotions) == 1
    languages = set().union(*(p.texts for p in example.products.values()))
    assert {"en", "de", "fr", "it", "es", "ja"} <= languages


def test_example_renders_every_marketplace(example):
    state = render(example, NOW)
    assert {r.marketplace for r in state.resources.values()} == set(example.marketplaces)
    assert all(r.our_price > 0 for r in state.resources.values())
    jp = [r for r in state.resources.values() if r.currency == "JPY"]
    assert jp and all(r.our_price == r.our_price.to_integral_value() for r in jp)
    trace = explain(example, NOW, "DE", "HP-100")
    assert any(f.name == "our_price" and f.origins for f in trace.fields)


def _schema_kind(path: Path) -> str:
    rel = path.relative_to(EXAMPLE)
    return TOP_LEVEL_KINDS[path.stem] if len(rel.parts) == 1 else FOLDER_KINDS[rel.parts[0]]


@pytest.mark.parametrize(
    "path", sorted(EXAMPLE.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLE))
)
def test_example_files_point_editors_at_their_schema(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    target = (path.parent / first.removeprefix(prefix)).resolve()
    assert target.is_file()
    assert target.name == f"{_schema_kind(path)}.schema.json"
