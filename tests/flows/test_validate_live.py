"""`sync validate --live`: the desired listings against Amazon's product type definitions
(here the sandbox's), reported at the product's file and line."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from engine.cli.main import main
from engine.flows.validate import validate_config
from engine.sandbox import product_types
from tests.minimal_config import edited, write_config

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def bullets_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's HEADPHONES definition with bullet_point required, as a stricter product
    type on Amazon would have it (the minimal config's Japanese HP-100 has no bullets)."""
    known = dict(product_types.definitions())
    headphones = known["HEADPHONES"]
    schema = copy.deepcopy(dict(headphones.schema))
    schema["required"] = [*schema["required"], "bullet_point"]
    known["HEADPHONES"] = product_types.Definition(
        headphones.name, headphones.display_name, headphones.version, schema, headphones.groups
    )
    monkeypatch.setattr(product_types, "definitions", lambda: known)


def test_the_minimal_config_is_valid_live(config_dir):
    result = validate_config(config_dir, now=NOW, live=True)
    assert result.errors == () and result.listings == ()
    cached = result.config.state_dir / "product-types" / "A1PA6795UKMFR9"
    assert sorted(p.name for p in cached.iterdir()) == ["HEADPHONES", "SPEAKERS"]


def test_a_missing_required_attribute_is_reported_at_the_product(config_dir, bullets_required):
    result = validate_config(config_dir, now=NOW, live=True)
    (problem,) = result.listings
    assert (problem.sku, problem.issue.code, problem.marketplaces) == ("HP-100", "90220", ("JP",))
    error = problem.error()
    assert error.file.endswith("products/audio.yaml") and error.position is not None
    assert error.position.line == 2  # "  - sku: HP-100"
    assert "'Bullet Point' is required but not supplied." in error.message


def test_the_command_exits_1_with_file_and_line(config_dir, bullets_required, capsys):
    assert main(["--config", str(config_dir), "validate", "--now", NOW.isoformat()]) == 0
    code = main(["--config", str(config_dir), "validate", "--live", "--now", NOW.isoformat()])
    assert code == 1
    err = capsys.readouterr().err
    assert "products/audio.yaml:2:" in err
    assert "HP-100 (JP): 'Bullet Point' is required but not supplied. [90220" in err


def test_an_unknown_product_type_is_reported(config_dir):
    write_config(
        config_dir, edited("products/audio.yaml", "product_type: SPEAKERS", "product_type: GUITARS")
    )
    (problem,) = validate_config(config_dir, now=NOW, live=True).listings
    assert (problem.sku, problem.issue.code) == ("SPK-1", "4000003")
    assert problem.marketplaces == ("US", "DE", "JP")
