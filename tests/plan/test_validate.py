"""Issue 19, item 4: a broken plan file is refused with the JSON path of its first problem,
before any of it is used; the bounds on size and nesting hold; every plan sellersync writes
passes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.core.fields import MANAGED_FIELDS
from engine.core.sale import SalePrice
from engine.plan import validate
from engine.plan.model import Plan, PlanFormatError
from engine.plan.refresh_only import RefreshOnlyFormatError, RefreshOnlyPlan
from tests.guardrails.conftest import APPROVED, BLOCK, WARN
from tests.plan.test_model import CREATED, plan_for


@pytest.fixture
def document(make_config_cached) -> dict[str, Any]:
    plan, _ = plan_for(make_config_cached)
    return json.loads(plan.dumps())


def _update(document: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in document["resource_changes"] if c["change"]["actions"] == ["update"])


def _refused(document: dict[str, Any]) -> str:
    with pytest.raises(PlanFormatError) as caught:
        Plan.loads(json.dumps(document))
    return str(caught.value)


def test_a_number_for_created_at_is_refused_at_its_path(document):
    document["created_at"] = 5
    assert _refused(document) == (
        "$.created_at: expected string (got 5); this is not a plan sellersync wrote"
    )


def test_a_time_without_its_utc_offset_is_refused(document):
    document["created_at"] = "2026-11-22T12:00:00"
    assert _refused(document).startswith(
        "$.created_at: expected a time with its UTC offset, such as 2026-11-22T12:00:00Z "
        "(got '2026-11-22T12:00:00')"
    )


def test_an_unknown_action_is_refused_at_its_path(document):
    position = document["resource_changes"].index(_update(document))
    document["resource_changes"][position]["change"]["actions"] = ["explode"]
    assert _refused(document).startswith(
        f"$.resource_changes[{position}].change.actions[0]: expected one of: create, update, "
        "delete (got 'explode')"
    )


def test_a_nan_price_is_refused_at_its_path(document):
    position = document["resource_changes"].index(_update(document))
    _update(document)["change"]["after"]["our_price"] = "NaN"
    assert _refused(document).startswith(
        f"$.resource_changes[{position}].change.after.our_price: does not match the expected format"
    )


def test_a_price_of_1e999999_is_refused_without_building_the_number(document):
    position = document["resource_changes"].index(_update(document))
    text = json.dumps(document).replace('"our_price": "57.99"', '"our_price": 1e999999', 1)
    assert '"our_price": 1e999999' in text
    with pytest.raises(PlanFormatError) as caught:
        Plan.loads(text)
    assert str(caught.value).startswith(
        f"$.resource_changes[{position}].change.after.our_price: expected string"
    )


def test_a_price_with_too_many_decimals_is_refused_by_the_money_rules(document):
    _update(document)["change"]["after"]["our_price"] = "57.990"
    assert "our_price is 57.990 EUR, but EUR amounts have 2 decimal place(s)" in _refused(document)


def test_a_field_sellersync_does_not_manage_is_refused(document):
    _update(document)["change"]["fields"][0]["field"] = "colour"
    assert "].change.fields[0].field: expected one of: product_type," in _refused(document)


def test_the_schema_names_exactly_the_managed_fields():
    items = validate._schema()["properties"]["resource_changes"]["items"]
    fields = items["properties"]["change"]["properties"]["fields"]["items"]["properties"]
    assert tuple(fields["field"]["enum"]) == MANAGED_FIELDS


def test_200000_nested_brackets_are_refused_before_decoding():
    text = "[" * 200_000 + "]" * 200_000
    with pytest.raises(PlanFormatError) as caught:
        Plan.loads(text)
    assert "nested more than 32 levels deep" in str(caught.value)


def test_brackets_inside_strings_do_not_count_as_nesting(document):
    document["resource_changes"][0]["change"]["after"]["title"] = '[{"' * 100 + "\\"
    assert validate.nesting_depth(json.dumps(document)) <= 7
    Plan.loads(json.dumps(document))


def test_nesting_is_bounded_even_where_the_schema_allows_any_value(document):
    deep: Any = "x"
    for _ in range(validate.MAX_PLAN_DEPTH):
        deep = [deep]
    document["drift"] = [{"address": "a", "field": "title", "last_applied": deep, "live": None}]
    assert "nested more than 32 levels deep" in _refused(document)


def test_a_file_bigger_than_the_bound_is_refused_by_its_size(monkeypatch, document):
    text = json.dumps(document)
    monkeypatch.setattr(validate, "MAX_PLAN_BYTES", len(text) - 1)
    with pytest.raises(PlanFormatError) as caught:
        Plan.loads(text)
    assert f"{len(text):,} bytes, more than the {len(text) - 1:,}" in str(caught.value)


def test_an_integer_too_long_to_convert_is_refused(document):
    text = json.dumps(document).replace('"unchanged": ', '"unchanged": ' + "9" * 5000, 1)
    with pytest.raises(PlanFormatError) as caught:
        Plan.loads(text)
    assert "not a plan sellersync wrote" in str(caught.value)


def test_every_kind_of_plan_sellersync_writes_passes_both_validators(make_config_cached):
    plan, _ = plan_for(make_config_cached)
    address = 'listing.DE["HP-100"]'
    sale = SalePrice(Decimal("49.99"), CREATED, CREATED + timedelta(days=3))
    desired = dict(make_config_cached)
    desired[address] = replace(desired[address], sale=sale, list_price=Decimal("79.99"))
    plan, _ = plan_for(desired)
    plan = replace(plan, guardrails=(BLOCK, APPROVED, WARN))
    document = json.loads(plan.dumps())
    assert any(
        c["change"]["after"] and c["change"]["after"].get("sale")
        for c in document["resource_changes"]
    )
    validate._fast_validator()(document)
    assert list(validate._full_validator().iter_errors(document)) == []
    assert Plan.loads(plan.dumps()).changes == plan.changes


def test_the_refresh_only_file_keeps_to_the_nesting_bound():
    with pytest.raises(RefreshOnlyFormatError) as caught:
        RefreshOnlyPlan.loads("{" * 50_000)
    assert "nested more than 32 levels deep" in str(caught.value)
