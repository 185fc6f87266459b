"""Refresh-only files: which listings adoption records, the file, and the reviewable text."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.core.fields import MANAGED_FIELDS
from engine.core.identity import BackendIdentity
from engine.core.resource import address
from engine.plan.model import fingerprint
from engine.plan.refresh_only import (
    RefreshOnlyFormatError,
    RefreshOnlyPlan,
    adoptions,
    render_refresh_only,
)
from tests.conftest import NOW

US_HP = address("US", "HP-100")
US_SPK = address("US", "SPK-1")
DE_HP = address("DE", "HP-100")
BACKEND = BackendIdentity("sandbox", "A1TESTSELLER", None)


def recorded_values(resource):
    return {f: getattr(resource, f) for f in MANAGED_FIELDS}


def test_only_managed_listings_whose_live_is_not_recorded_are_adopted(make_config_cached):
    desired = dict(make_config_cached)
    live = {a: r for a, r in desired.items() if a != DE_HP}  # DE HP-100 is not live
    live[US_HP] = replace(desired[US_HP], quantity=7)  # sold down since the last apply
    live[US_SPK] = replace(desired[US_SPK], quantity=40)  # FBA stock: Amazon's
    live['listing.US["LEGACY"]'] = replace(desired[US_HP], sku="LEGACY")  # unmanaged
    applied = {a: recorded_values(r) for a, r in desired.items()}
    del applied[address("JP", "SPK-1")]  # never applied
    found = adoptions(desired, live, applied)
    assert [a.address for a in found] == [address("JP", "SPK-1"), US_HP]
    jp, us = found
    assert jp.last_applied is None
    assert us.replaced() == [("quantity", 10, 7)]
    assert us.fingerprint == fingerprint(live[US_HP])
    # FBA quantity is recorded as unmanaged, as apply records it: US SPK-1's 40 units are
    # not a reason to adopt it above, and a never-applied FBA listing records none.
    assert adoptions({US_SPK: desired[US_SPK]}, live, {})[0].live.quantity is None


def test_the_file_reads_back_as_written_and_refuses_other_files(make_config_cached):
    desired = dict(make_config_cached)
    live = dict(desired)
    live[US_HP] = replace(desired[US_HP], our_price=Decimal("49.99"))
    applied = {US_HP: recorded_values(desired[US_HP])}
    plan = RefreshOnlyPlan(NOW, BACKEND, adoptions(desired, live, applied))
    assert RefreshOnlyPlan.loads(plan.dumps()) == plan
    with pytest.raises(RefreshOnlyFormatError, match="not a refresh-only file"):
        RefreshOnlyPlan.loads('{"format_version": "1.0", "resource_changes": []}')
    with pytest.raises(RefreshOnlyFormatError, match="unsupported format_version '9'"):
        RefreshOnlyPlan.loads(
            plan.dumps().replace('"format_version": "1.0"', '"format_version": "9"')
        )
    with pytest.raises(RefreshOnlyFormatError, match="not JSON"):
        RefreshOnlyPlan.loads("{")


def test_the_text_shows_what_each_adoption_replaces(make_config_cached):
    desired = dict(make_config_cached)
    live = dict(desired)
    live[US_HP] = replace(desired[US_HP], our_price=Decimal("49.99"))
    applied = {a: recorded_values(r) for a, r in desired.items() if a != DE_HP}
    plan = RefreshOnlyPlan(NOW, BACKEND, adoptions(desired, live, applied))
    text = render_refresh_only(plan, desired)
    assert text == (
        "Refresh-only: sellersync will record what is live as last applied for 2 listing(s). "
        "Nothing is written to Amazon.\n\n"
        f"  # {DE_HP} never applied by sellersync: adopted as live\n"
        f"  # {US_HP} last-applied values replaced by live\n"
        "    ~ our_price = 59.99 USD -> 49.99 USD\n\n"
        "Refresh-only: 2 listing(s) to adopt, 0 writes to Amazon.\n"
    )
    empty = RefreshOnlyPlan(NOW, BACKEND, ())
    assert render_refresh_only(empty).startswith("Refresh-only: every managed live listing")
