import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import jsonschema
import pytest

from engine.core.identity import BackendIdentity
from engine.plan.diff import diff
from engine.plan.model import ABSENT, Plan, PlanFormatError, fingerprint
from tests.guardrails.conftest import APPROVED, BLOCK, WARN

CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def plan_for(desired):
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    del live['listing.JP["SPK-1"]']
    return Plan.build(
        diff(desired, live),
        created_at=CREATED,
        config_digest="ab" * 32,
        backend=BackendIdentity("sandbox", "A1TESTSELLER", "http://127.0.0.1:1234"),
    ), live


def plan_schema():
    text = (resources.files("engine.schemas") / "plan.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def test_plan_json_validates_and_pins_live_state(make_config_cached):
    plan, live = plan_for(make_config_cached)
    doc = json.loads(plan.dumps())
    jsonschema.Draft7Validator(plan_schema()).validate(doc)
    assert doc["summary"] == {
        "add": 1,
        "change": 1,
        "delete": 0,
        "unchanged": len(make_config_cached) - 2,
    }
    by_address = {c["address"]: c for c in doc["resource_changes"]}
    update = by_address['listing.DE["HP-100"]']
    assert update["change"]["actions"] == ["update"]
    assert update["change"]["before"]["our_price"] == "59.99"
    assert update["change"]["after"]["our_price"] == "57.99"
    assert update["live_fingerprint"] == fingerprint(live['listing.DE["HP-100"]'])
    assert by_address['listing.JP["SPK-1"]']["live_fingerprint"] == ABSENT


def test_plan_round_trips_through_its_file(make_config_cached):
    plan, _ = plan_for(make_config_cached)
    again = Plan.loads(plan.dumps())
    assert again.changes == plan.changes
    assert again.live_fingerprints == plan.live_fingerprints
    assert again.summary() == plan.summary()
    assert again.created_at == CREATED


def test_fingerprint_changes_with_any_managed_value(make_config_cached):
    resource = make_config_cached['listing.US["HP-100"]']
    assert fingerprint(resource) == fingerprint(replace(resource))
    assert fingerprint(resource) != fingerprint(replace(resource, quantity=3))


@pytest.mark.parametrize("text", ["not json", '{"format_version": "0.1"}', "[]"])
def test_foreign_files_are_refused(text):
    with pytest.raises(PlanFormatError):
        Plan.loads(text)


def test_plan_json_with_verdicts_validates(make_config_cached):
    plan, _ = plan_for(make_config_cached)
    plan = replace(plan, guardrails=(BLOCK, APPROVED, WARN))
    doc = json.loads(plan.dumps())
    jsonschema.Draft7Validator(plan_schema()).validate(doc)
    assert [v["outcome"] for v in doc["guardrails"]] == ["block", "approved", "warn"]
    assert doc["guardrails"][1]["approval"]["expires"] == "2026-11-24T12:00:00Z"
    broken = json.loads(plan.dumps())
    broken["guardrails"][1]["approval"] = None  # "approved" without the approval used
    assert list(jsonschema.Draft7Validator(plan_schema()).iter_errors(broken))
