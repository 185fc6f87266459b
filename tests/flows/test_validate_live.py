"""`sync validate --live`: the desired listings against Amazon's product type definitions
(here the sandbox's), reported at the product's file and line."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from engine.cli.main import main
from engine.flows.plan import build_plan
from engine.flows.session import live_session
from engine.flows.validate import validate_config
from engine.sandbox import product_types
from tests.minimal_config import edited, write_config

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def require(monkeypatch: pytest.MonkeyPatch, product_type: str, attribute: str) -> None:
    """The sandbox's definition of `product_type` with `attribute` required too, as a
    stricter product type on Amazon would have it."""
    known = dict(product_types.definitions())
    found = known[product_type]
    schema = copy.deepcopy(dict(found.schema))
    schema["required"] = [*schema["required"], attribute]
    known[product_type] = product_types.Definition(
        found.name, found.display_name, found.version, schema, found.groups
    )
    monkeypatch.setattr(product_types, "definitions", lambda: known)


@pytest.fixture
def bullets_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """HEADPHONES need bullet points (the minimal config's Japanese HP-100 has none)."""
    require(monkeypatch, "HEADPHONES", "bullet_point")


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


def test_the_plan_notes_a_put_amazon_would_refuse(seeded_config, monkeypatch):
    """The seed left JP SPK-1 out, so the plan creates it; SPK-1 has no bullet points."""
    config = seeded_config()
    require(monkeypatch, "SPEAKERS", "bullet_point")
    with live_session(config) as (backend, db):
        run = build_plan(config, backend, db, now=NOW)
    created = [c.address for c in run.plan.changes if c.action == "create"]
    assert created == ['listing.JP["SPK-1"]']
    (note,) = [n for n in run.notes if "90220" in n]
    assert "products/audio.yaml:" in note
    assert "SPK-1 (JP): 'Bullet Point' is required but not supplied." in note
    # Updates written as patches are not checked again: only the puts.
    assert "HP-100" not in note


def test_the_plan_of_a_valid_config_has_no_definition_notes(seeded_config):
    config = seeded_config()
    with live_session(config) as (backend, db):
        run = build_plan(config, backend, db, now=NOW)
    assert not [n for n in run.notes if "definition" in n]
