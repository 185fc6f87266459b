from hypothesis import given
from hypothesis import strategies as st

from engine.desired.stock import SiteStock, allocate, recommend_fba


def site(code, local, alert=5, max_per_site=20, buffer=0):
    return SiteStock(code, local, alert, max_per_site, buffer)


def grants(allocations):
    return {a.marketplace: a.granted for a in allocations}


def test_lone_needy_site_gets_min_of_central_and_room():
    assert grants(allocate(100, [site("US", 2)])) == {"US": 18}
    assert grants(allocate(7, [site("US", 2)])) == {"US": 7}


def test_site_at_or_above_alert_level_is_left_alone():
    result = allocate(100, [site("US", 5), site("DE", 4)])
    assert grants(result) == {"US": 0, "DE": 16}
    assert [a.quantity for a in result] == [5, 20]


def test_safety_buffer_stays_in_the_warehouse():
    assert grants(allocate(10, [site("US", 0, buffer=4)])) == {"US": 6}
    assert grants(allocate(3, [site("US", 0, buffer=4)])) == {"US": 0}


def test_short_stock_is_split_by_need_with_largest_remainder():
    # needs 18, 10, 4 (total 32); pool 10 → shares 5.625, 3.125, 1.25 → 5, 3, 1 + 1 to US
    result = allocate(10, [site("US", 2), site("DE", 10, alert=11), site("JP", 16, alert=17)])
    assert grants(result) == {"US": 6, "DE": 3, "JP": 1}


def test_ties_go_to_the_earlier_marketplace_in_project_order():
    assert grants(allocate(1, [site("US", 0), site("DE", 0)])) == {"US": 1, "DE": 0}
    assert grants(allocate(1, [site("DE", 0), site("US", 0)])) == {"DE": 1, "US": 0}


def test_negative_live_quantity_is_treated_as_zero():
    result = allocate(50, [site("US", -3)])
    assert result[0].quantity == 20


def test_fba_gets_recommendations_not_quantities():
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


@given(st.integers(0, 10_000), sites_strategy)
def test_allocation_never_exceeds_central_and_is_never_negative(central, sites):
    result = allocate(central, sites)
    assert sum(a.granted for a in result) <= central
    assert all(a.granted >= 0 and a.quantity >= 0 for a in result)
    for a, s in zip(result, sites, strict=True):
        assert a.granted <= s.need
        if not s.needy:
            assert a.granted == 0
    needy = [s for s in sites if s.needy and s.need > 0]
    if needy:
        assert sum(a.granted for a in result) <= max(
            0, central - max(s.safety_buffer for s in needy)
        )


@given(st.integers(0, 10_000), sites_strategy)
def test_allocation_is_deterministic(central, sites):
    assert allocate(central, sites) == allocate(central, list(sites))
