from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.desired.stock import Reservation, SiteStock, allocate, recommend_fba


def site(code, local, alert=5, max_per_site=20, buffer=0):
    return SiteStock(code, local, alert, max_per_site, buffer)


def grants(allocations):
    return {a.marketplace: a.granted for a in allocations}


def quantities(allocations):
    return {a.marketplace: a.quantity for a in allocations}


def test_lone_needy_site_gets_min_of_pool_and_room():
    assert grants(allocate(100, [site("US", 2)])) == {"US": 18}
    # 9 on hand, 2 of them advertised already: 7 left to grant.
    assert grants(allocate(9, [site("US", 2)])) == {"US": 7}


def test_units_advertised_anywhere_are_reserved_from_on_hand():
    # 30 on hand, 12 + 1 + 5 advertised: DE (needs 19) can get only the 12 left.
    result = allocate(30, [site("US", 12), site("DE", 1), site("JP", 5)])
    assert quantities(result) == {"US": 12, "DE": 13, "JP": 5}


def test_site_at_or_above_alert_level_is_left_alone():
    result = allocate(100, [site("US", 5), site("DE", 4)])
    assert grants(result) == {"US": 0, "DE": 16}
    assert [a.quantity for a in result] == [5, 20]


def test_safety_buffer_stays_in_the_warehouse():
    assert grants(allocate(10, [site("US", 0, buffer=4)])) == {"US": 6}
    assert grants(allocate(4, [site("US", 0, buffer=4)])) == {"US": 0}
    # The largest buffer of the SKU's marketplaces counts, needy or not.
    assert grants(allocate(10, [site("US", 0), site("DE", 9, buffer=1, alert=0)])) == {
        "US": 0,
        "DE": 0,
    }


def test_short_stock_is_split_by_need_with_largest_remainder():
    # advertised 28, pool 38 - 28 = 10; needs 18, 10, 4 (total 32) → shares 5.625, 3.125,
    # 1.25 → 5, 3, 1 + 1 to US
    result = allocate(38, [site("US", 2), site("DE", 10, alert=11), site("JP", 16, alert=17)])
    assert grants(result) == {"US": 6, "DE": 3, "JP": 1}


def test_ties_go_to_the_earlier_marketplace_in_project_order():
    assert grants(allocate(1, [site("US", 0), site("DE", 0)])) == {"US": 1, "DE": 0}
    assert grants(allocate(1, [site("DE", 0), site("US", 0)])) == {"DE": 1, "US": 0}


def test_negative_live_quantity_is_treated_as_zero():
    result = allocate(50, [site("US", -3)])
    assert result[0].quantity == 20


def test_over_commitment_pulls_back_from_the_sites_furthest_above_their_alert_level():
    # 12 on hand, buffer 2: 10 may be advertised, 29 are. US is 10 above its alert level,
    # DE 3, JP 1: US comes down first, then all three together: 1 above alert is 18 units,
    # at alert 15, 1 below 12, 2 below 9; the one unit left stays with US, listed first.
    result = allocate(12, [site("US", 15, buffer=2), site("DE", 8), site("JP", 6)])
    assert sum(a.quantity for a in result) == 10
    assert all(a.granted == 0 for a in result)
    assert quantities(result) == {"US": 4, "DE": 3, "JP": 3}


def test_over_commitment_takes_the_last_odd_unit_from_the_last_listed_site():
    result = allocate(3, [site("US", 2, alert=0), site("DE", 2, alert=0)])
    assert quantities(result) == {"US": 2, "DE": 1}
    assert [a.pulled_back for a in result] == [0, 1]


def test_nothing_on_hand_pulls_every_site_to_zero():
    result = allocate(0, [site("US", 4), site("DE", 1)])
    assert quantities(result) == {"US": 0, "DE": 0}


def test_unknown_on_hand_keeps_live_quantities():
    result = allocate(None, [site("US", 40), site("DE", 1)])
    assert quantities(result) == {"US": 40, "DE": 1}


def test_units_reserved_for_unshipped_orders_are_not_allocated_again():
    sites = [site("US", 12), site("DE", 1), site("JP", 5)]
    # 30 on hand, 8 of them sold and waiting to ship: the pool is 30 - 8 - 18 advertised = 4,
    # not 12, and DE (needs 19) gets those 4.
    assert quantities(allocate(30, sites, reserved=8)) == {"US": 12, "DE": 5, "JP": 5}
    assert quantities(allocate(30, sites, reserved=0)) == {"US": 12, "DE": 13, "JP": 5}


def test_reserved_units_come_off_on_hand_before_the_safety_buffer():
    assert grants(allocate(10, [site("US", 0, buffer=2)], reserved=3)) == {"US": 5}


def test_reserving_more_than_on_hand_pulls_every_site_to_zero_and_no_lower():
    result = allocate(5, [site("US", 4), site("DE", 1)], reserved=9)
    assert quantities(result) == {"US": 0, "DE": 0}
    assert [a.pulled_back for a in result] == [4, 1]
    assert quantities(allocate(5, [site("US", 0)], reserved=5)) == {"US": 0}


def test_reserved_units_do_not_matter_when_on_hand_is_unknown():
    assert quantities(allocate(None, [site("US", 40), site("DE", 1)], reserved=7)) == {
        "US": 40,
        "DE": 1,
    }


def test_a_reservation_describes_its_units_orders_and_pulls():
    pulled = {"US": datetime(2026, 11, 22, 11, 58, tzinfo=UTC)}
    ids = tuple(f"111-000000{n}-0000001" for n in range(7))
    reservation = Reservation({"HP-100": 9}, {"HP-100": ids}, pulled, ("JP",))
    assert reservation.describe("HP-100") == (
        "9 reserved for unshipped orders (111-0000000-0000001, 111-0000001-0000001, "
        "111-0000002-0000001, 111-0000003-0000001, 111-0000004-0000001 and 2 more), from "
        "orders pulled for US until 2026-11-22 11:58 UTC; never pulled for JP: unshipped "
        "orders there are unknown and not reserved"
    )
    assert reservation.describe("SPK-1") == (
        "0 reserved for unshipped orders, from orders pulled for US until 2026-11-22 11:58 UTC; "
        "never pulled for JP: unshipped orders there are unknown and not reserved"
    )
    # Marketplaces pulled together are named together.
    pulled |= {"DE": pulled["US"], "UK": datetime(2026, 11, 21, 9, 0, tzinfo=UTC)}
    assert Reservation({}, {}, pulled).describe("SPK-1") == (
        "0 reserved for unshipped orders, from orders pulled for US, DE until 2026-11-22 11:58 "
        "UTC and UK until 2026-11-21 09:00 UTC"
    )


def test_fba_gets_recommendations_not_quantities():
    # FBA units left the warehouse: nothing is reserved for them.
    recs = recommend_fba("SPK-1", 12, [site("US", 1), site("DE", 9)])
    assert [(r.marketplace, r.recommended_units) for r in recs] == [("US", 12)]
    assert "below the alert level" in recs[0].reason
    assert (recs[0].alert_level, recs[0].max_per_site) == (5, 20)  # the thresholds it met


sites_strategy = st.lists(
    st.builds(
        SiteStock,
        marketplace=st.just("X"),
        local=st.integers(-5, 200),
        alert_level=st.integers(0, 100),
        max_per_site=st.integers(0, 300),
        safety_buffer=st.integers(0, 50),
    ),
    min_size=1,
    max_size=9,
).map(
    lambda ss: [
        SiteStock(f"M{i}", *(s.local, s.alert_level, s.max_per_site, s.safety_buffer))
        for i, s in enumerate(ss)
    ]
)


@given(st.integers(0, 2_000), sites_strategy)
def test_allocation_bounds(on_hand, sites):
    result = allocate(on_hand, sites)
    for a, s in zip(result, sites, strict=True):
        assert a.quantity >= 0
        assert a.granted >= 0 and a.pulled_back >= 0
        assert not (a.granted and a.pulled_back)
        assert a.granted <= s.need
        assert a.quantity <= max(s.held, s.max_per_site)  # never lifted above max_per_site
        if not s.needy:
            assert a.granted == 0


@given(st.integers(0, 2_000), sites_strategy)
def test_total_never_exceeds_what_is_on_hand_less_the_buffer(on_hand, sites):
    result = allocate(on_hand, sites)
    capacity = max(0, on_hand - max(s.safety_buffer for s in sites))
    assert sum(a.quantity for a in result) <= capacity
    if sum(s.held for s in sites) > capacity:
        assert sum(a.quantity for a in result) == capacity


@given(st.integers(0, 2_000), st.integers(0, 50), sites_strategy)
def test_allocation_is_idempotent(on_hand, reserved, sites):
    first = allocate(on_hand, sites, reserved)
    again = [
        SiteStock(s.marketplace, a.quantity, s.alert_level, s.max_per_site, s.safety_buffer)
        for s, a in zip(sites, first, strict=True)
    ]
    assert [a.quantity for a in allocate(on_hand, again, reserved)] == [a.quantity for a in first]


@given(st.integers(0, 2_000), sites_strategy)
def test_allocation_is_deterministic(on_hand, sites):
    assert allocate(on_hand, sites) == allocate(on_hand, list(sites))


@given(st.integers(0, 2_000), st.integers(0, 2_500), sites_strategy)
def test_reserving_units_is_having_that_many_fewer_on_hand(on_hand, reserved, sites):
    result = allocate(on_hand, sites, reserved)
    assert result == allocate(max(0, on_hand - reserved), sites)
    capacity = max(0, on_hand - reserved - max(s.safety_buffer for s in sites))
    assert sum(a.quantity for a in result) <= capacity
