from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.core.fields import MANAGED_FIELDS
from engine.desired.render import render
from engine.plan.diff import diff
from tests.conftest import NOW


def desired_state(make_config):
    return render(make_config(), NOW).resources


def test_identical_live_state_has_no_changes(make_config):
    desired = desired_state(make_config)
    result = diff(desired, dict(desired))
    assert result.changes == ()
    assert result.unchanged == len(desired)


def test_missing_listing_is_created_and_changed_price_is_updated(make_config):
    desired = desired_state(make_config)
    live = dict(desired)
    del live['listing.JP["SPK-1"]']
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    result = diff(desired, live)
    assert [(c.address, c.action) for c in result.changes] == [
        ('listing.DE["HP-100"]', "update"),
        ('listing.JP["SPK-1"]', "create"),
    ]
    update = result.changes[0]
    assert [(f.field, f.before, f.after, f.cause) for f in update.fields] == [
        ("our_price", Decimal("59.99"), Decimal("57.99"), "config")
    ]
    create = result.changes[1]
    assert {f.field for f in create.fields} >= {"title", "our_price"}
    assert result.unchanged == len(desired) - 2


def test_unmanaged_listing_is_reported_not_deleted_unless_pruned(make_config):
    desired = desired_state(make_config)
    stray = replace(desired['listing.US["HP-100"]'], sku="OLD-1")
    live = {**desired, stray.address: stray}
    kept = diff(desired, live)
    assert kept.unmanaged == ('listing.US["OLD-1"]',)
    assert kept.count("delete") == 0
    pruned = diff(desired, live, prune=lambda mkt, sku: sku.startswith("OLD-"))
    assert [(c.address, c.action) for c in pruned.changes] == [('listing.US["OLD-1"]', "delete")]
    assert pruned.unmanaged == ()


def test_fba_quantity_is_not_compared(make_config):
    desired = desired_state(make_config)
    live = dict(desired)
    live['listing.US["SPK-1"]'] = replace(live['listing.US["SPK-1"]'], quantity=37)
    assert diff(desired, live).changes == ()


def test_three_way_comparison_separates_drift_from_config_changes(make_config):
    desired = desired_state(make_config)
    address = 'listing.DE["HP-100"]'
    want = desired[address]
    applied = {"our_price": want.our_price, "title": "Alter Titel"}
    # Someone changed the price in Seller Central; the config changed the title.
    live = {**desired, address: replace(want, our_price=Decimal("39.99"), title="Alter Titel")}
    result = diff(desired, live, last_applied={address: applied})
    causes = {f.field: f.cause for f in result.changes[0].fields}
    assert causes == {"our_price": "drift", "title": "config"}
    assert [(d.field, d.last_applied, d.live) for d in result.drift] == [
        ("our_price", Decimal("57.99"), Decimal("39.99"))
    ]
    # Config also changed the price: the change is attributed to both.
    applied_old = {"our_price": Decimal("49.99")}
    live2 = {**desired, address: replace(want, our_price=Decimal("39.99"))}
    both = diff(desired, live2, last_applied={address: applied_old})
    assert both.changes[0].fields[0].cause == "both"


@given(st.sets(st.integers(0, 5)), st.sampled_from(MANAGED_FIELDS[6:8]))
def test_every_difference_is_found_exactly_once(make_config_cached, dropped, field):
    desired = make_config_cached
    addresses = sorted(desired)
    live = {a: r for i, a in enumerate(addresses) if i not in dropped for r in [desired[a]]}
    first = addresses[-1]
    if first in live:
        live[first] = replace(live[first], **{field: Decimal("1.00")})
    result = diff(desired, live)
    created = {c.address for c in result.changes if c.action == "create"}
    assert created == {addresses[i] for i in dropped if i < len(addresses)}
    assert result.unchanged + len(result.changes) == len(desired)
