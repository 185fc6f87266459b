"""FBA replenishment through the render's own rule, and MFN quantity deviation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.desired.render import render
from engine.desired.stock import Reservation
from engine.live.backend import LiveListing, LiveState
from engine.ops.inventory import deviation, fba_replenishment, live_deviation
from tests.conftest import NOW


class FbaStock:
    """The one backend read replenishment needs: fulfillable FBA units per marketplace."""

    def __init__(self, units: dict[str, dict[str, int]]) -> None:
        self.units = units
        self.read: list[str] = []

    def read_fba_inventory(self, marketplace: str) -> dict[str, int]:
        self.read.append(marketplace)
        return self.units.get(marketplace, {})


def test_replenishment_uses_live_fba_units_and_the_render_rule(make_config):
    config = make_config()  # SPK-1 is FBA; alert 5, max 20, buffer 2; central 12
    live = FbaStock({"US": {"SPK-1": 2, "HP-100": 0}, "DE": {"SPK-1": 4}, "JP": {"SPK-1": 9}})
    recs = fba_replenishment(config, live, NOW)  # type: ignore[arg-type]
    assert live.read == ["US", "DE", "JP"]
    # Needy: US (needs 18) and DE (needs 16); pool 12 - 2 = 10, split 18:16 -> 5.29 / 4.71
    # -> floors 5 and 4, the spare unit to the larger remainder (DE, .71).
    assert [(r.marketplace, r.sku, r.fba_quantity, r.recommended_units) for r in recs] == [
        ("US", "SPK-1", 2, 5),
        ("DE", "SPK-1", 4, 5),
    ]
    assert all((r.alert_level, r.max_per_site) == (5, 20) for r in recs)
    assert "HP-100" not in {r.sku for r in recs}  # MFN: its quantity is set, not shipped in


def test_replenishment_with_no_central_stock_says_so(make_config):
    config = make_config({"stock.csv": "sku,on_hand\nHP-100,30\n"})
    recs = fba_replenishment(config, FbaStock({"DE": {"SPK-1": 1}}), NOW)  # type: ignore[arg-type]
    # A marketplace with no FBA units reported holds none: all three are below 5.
    assert [(r.marketplace, r.fba_quantity, r.recommended_units) for r in recs] == [
        ("US", 0, 0),
        ("DE", 1, 0),
        ("JP", 0, 0),
    ]
    assert all(r.reason.endswith("no central stock to send") for r in recs)


def test_deviation_over_mfn_listings(make_config):
    rendered = render(make_config(), NOW, {}).resources
    desired = {a: r if r.quantity is None else replace(r, quantity=10) for a, r in rendered.items()}
    mfn = {a: r for a, r in desired.items() if r.quantity is not None}
    assert len(mfn) == 3 and len(desired) == 6  # SPK-1 is FBA: no quantity of ours
    de, jp, us = sorted(mfn)  # listing.DE[...], listing.JP[...], listing.US[...]
    live = {
        us: mfn[us],
        de: replace(mfn[de], quantity=7, our_price=Decimal("1")),  # price is not quantity
    }  # JP not live at all
    result = deviation(desired, live)
    assert (result.desired_total, result.off_by) == (30, 13)  # |7 - 10| + 10 (missing)
    assert result.percent == Decimal("43.33")
    assert [(d.address, d.desired, d.live) for d in result.listings] == [
        (de, 10, 7),
        (jp, 10, None),
    ]
    assert deviation(desired, mfn).percent == Decimal(0)
    assert deviation({}, {}).percent == Decimal(0)


class LiveListings:
    """The one backend read deviation needs: live listings, read as a real LiveState."""

    def __init__(self, resources):
        self._resources = resources

    def read_listings(self, marketplaces, *, refresh, wanted=None, applied=None, recent=()):
        listings = {
            address: LiveListing(resource=resource, status=("BUYABLE",))
            for address, resource in self._resources.items()
            if resource.marketplace in marketplaces
        }
        return LiveState(listings, NOW, dict.fromkeys(marketplaces, NOW))


def test_deviation_wants_what_the_plan_wants_once_orders_reserve_units(make_config):
    config = make_config()
    reservation = Reservation({"HP-100": 16}, {"HP-100": ("302-0000001-0000001",)}, {"US": NOW})
    # Live is what a plan with 16 HP-100 units reserved applied: 30 - 16 - 2 = 12, 4 per site.
    applied = LiveListings(render(config, NOW, reservation=reservation).resources)
    with_orders = live_deviation(config, applied, NOW, refresh=True, reservation=reservation)  # type: ignore[arg-type]
    assert (with_orders.desired_total, with_orders.off_by) == (12, 0)
    # Without the reservation the sold units look free: all three sites (below 5) get topped
    # up to 10, 9, 9.
    unreserved = live_deviation(config, applied, NOW, refresh=True)  # type: ignore[arg-type]
    assert (unreserved.desired_total, unreserved.off_by) == (28, 16)
