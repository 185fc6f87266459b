"""A quantity raised from 0 with a new price goes live price first (issue 15 item 4).

Sent as one patch, Amazon can make the quantity live before the price
(https://github.com/amzn/selling-partner-api-models/issues/4901). The sandbox records every
listing write it accepts, with the price buyers saw at that moment: the quantity write must
come after the new price is live, per item, in feeds, and across a killed apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.apply.executor import PRICE_WRITTEN
from engine.cli.apply_cmds import summary_lines
from engine.core.changes import FieldChange, ResourceChange
from engine.live.patches import price_then_quantity
from engine.live.spapi import listing_from_item
from engine.sandbox.runtime import Sandbox
from engine.sandbox.store import Listing
from engine.state import journal
from engine.state.breakers import Breaker
from engine.watch import breaker
from tests.apply.conftest import CONFIG_DIGEST, Killed, die_after, writes_of
from tests.sandbox.conftest import NOW, SELLER, make_resource

SKU = "HP-010"
ADDRESS = f'listing.DE["{SKU}"]'
OLD, NEW = Decimal("29.99"), Decimal("34.99")


@dataclass(frozen=True, slots=True)
class Write:
    sku: str
    attributes: frozenset[str]  # the attributes the write sets
    live_price: Decimal | None  # what buyers saw when it arrived


class WriteLog:
    """Server side: each listing write the sandbox accepted, in order, with the price live
    at that moment (per item and in feeds alike: both go through the account)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.writes: list[Write] = []
        self._lock = threading.Lock()
        account = sandbox.account
        patch = account.patch_item

        def logged(seller_id: str, sku: str, mids: Any, body: Any, **kw: Any) -> dict[str, Any]:
            live = _live_price(sandbox, sku)
            answer = patch(seller_id, sku, mids, body, **kw)
            if answer.get("status") == "ACCEPTED":
                names = frozenset(p["path"].rsplit("/", 1)[-1] for p in body["patches"])
                with self._lock:
                    self.writes.append(Write(sku, names, live))
            return answer

        account.patch_item = logged  # type: ignore[method-assign]

    def of(self, sku: str) -> list[Write]:
        return [w for w in self.writes if w.sku == sku]


def _live_price(sandbox: Sandbox, sku: str) -> Decimal | None:
    mid = "A1PA6795UKMFR9"
    item = sandbox.account.get_item(SELLER, sku, [mid], ["summaries", "attributes"])
    return listing_from_item("DE", item).resource.our_price


def _sold_out(sandbox: Sandbox, sku: str) -> None:
    """The listing at quantity 0, as after a sell-out."""

    def empty(listing: Listing) -> Listing:
        attributes = dict(listing.attributes)
        attributes["fulfillment_availability"] = [
            {"fulfillment_channel_code": "DEFAULT", "quantity": 0}
        ]
        return replace(listing, attributes=attributes)

    sandbox.account.edit_listing(sku, "DE", empty)


@pytest.fixture
def log(sandbox: Sandbox) -> WriteLog:
    _sold_out(sandbox, SKU)
    return WriteLog(sandbox)


@pytest.fixture
def restock(backend) -> Callable[..., list]:
    """The desired listings: SKU back in stock at the new price (and HP-011 repriced)."""

    def build() -> list:
        live = backend.read_listing("DE", SKU).resource
        assert live.quantity == 0 and live.our_price == OLD
        other = backend.read_listing("DE", "HP-011").resource
        return [
            replace(live, our_price=NEW, quantity=5),
            replace(other, our_price=other.our_price + 1),
        ]

    return build


def assert_price_first(log: WriteLog) -> None:
    writes = log.of(SKU)
    quantity = [w for w in writes if "fulfillment_availability" in w.attributes]
    prices = [w for w in writes if "purchasable_offer" in w.attributes]
    assert len(quantity) == 1, writes
    assert prices and all("fulfillment_availability" not in w.attributes for w in prices)
    assert writes.index(quantity[0]) > writes.index(prices[0])
    assert quantity[0].live_price == NEW  # buyers could never order at the old price


# -- the split (pure) ---------------------------------------------------------------------
def _change(before_qty: int | None, after_qty: int | None, price: str = "34.99"):
    before = make_resource("DE", SKU, "29.99", quantity=before_qty)
    after = replace(before, our_price=Decimal(price), quantity=after_qty)
    fields = [FieldChange("our_price", before.our_price, after.our_price)]
    if before_qty != after_qty:
        fields.append(FieldChange("quantity", before_qty, after_qty))
    if price == "29.99":
        fields.pop(0)
    return ResourceChange(ADDRESS, "update", before, after, tuple(fields))


def test_a_restock_at_a_new_price_is_split_price_first():
    steps = price_then_quantity(_change(0, 5))
    assert steps is not None
    price, quantity = steps
    assert [f.field for f in price.fields] == ["our_price"]
    assert price.after.our_price == NEW and price.after.quantity == 0
    assert [f.field for f in quantity.fields] == ["quantity"]
    assert quantity.before == price.after and quantity.after.quantity == 5


@pytest.mark.parametrize(
    "change",
    [
        _change(3, 5),  # in stock already: the old price is selling anyway
        _change(0, 5, price="29.99"),  # the price does not change
        _change(0, 0),  # stays sold out
        _change(5, 0),  # sold out on purpose: one write takes it off sale
    ],
)
def test_other_changes_are_one_write(change):
    assert price_then_quantity(change) is None


# -- per item -------------------------------------------------------------------------------
def test_per_item_the_quantity_is_written_once_the_new_price_is_live(
    log, restock, make_plan, make_executor, backend
):
    plan, digest = make_plan(restock())

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0 and ADDRESS in report.applied
    assert_price_first(log)
    assert writes_of(backend).count("patchListingsItem") == 3  # two for SKU, one for HP-011
    live = backend.read_listing("DE", SKU).resource
    assert (live.our_price, live.quantity) == (NEW, 5)


def test_a_price_that_never_shows_leaves_the_quantity_unsent(
    log, restock, make_plan, make_executor, sandbox
):
    plan, digest = make_plan(restock())
    sandbox.account.processing_delay = timedelta(hours=2)  # longer than the verification wait

    report = make_executor().apply(plan, digest, CONFIG_DIGEST)

    assert [w.attributes for w in log.of(SKU)] == [frozenset({"purchasable_offer"})]
    (failed,) = [why for address, why in report.failed if address == ADDRESS]
    assert "the quantity was not sent" in failed
    assert report.exit_code != 0


# -- a feed ---------------------------------------------------------------------------------
def test_in_bulk_prices_go_in_a_first_feed_and_quantities_in_a_second(
    log, restock, make_plan, make_executor, make_backend
):
    bulk = make_backend(bulk_threshold=1)
    plan, digest = make_plan(restock(), on=bulk)

    report = make_executor(on=bulk).apply(plan, digest, CONFIG_DIGEST)

    assert report.exit_code == 0 and ADDRESS in report.applied
    assert_price_first(log)
    assert writes_of(bulk).count("createFeed") == 2


# -- killed between the two steps -----------------------------------------------------------
def _step(db) -> tuple[str, str | None]:
    with db.read() as conn:
        point = journal.resume_point(conn, SELLER)
        assert point is not None
        (entry,) = [e for e in point.outcome_unknown if e.address == ADDRESS]
        return entry.state, entry.step


def killed_then_resumed(
    make_plan, make_executor, restock, db, *, writes: int, step: str, wait: Callable = lambda: None
):
    """Apply, killed right after the `writes`-th write is answered (its entry left `sent` at
    `step`), then `wait()`, then resume; the resumed run's report."""
    plan, digest = make_plan(restock())
    with pytest.raises(Killed):
        make_executor(after_write=die_after(writes)).apply(plan, digest, CONFIG_DIGEST)
    assert _step(db) == ("sent", step)
    wait()
    report = make_executor().apply(plan, digest, CONFIG_DIGEST)
    assert report.resumed and report.exit_code == 0 and ADDRESS in report.applied
    return report


def test_killed_after_the_price_write_the_resume_writes_only_the_quantity(
    log, restock, make_plan, make_executor, db, timer
):
    # The price answered, the process gone before anything else; on restart the price has
    # landed meanwhile.
    killed_then_resumed(
        make_plan, make_executor, restock, db, writes=1, step="price", wait=lambda: timer.sleep(120)
    )
    assert_price_first(log)
    assert len(log.of(SKU)) == 2  # the price was not written again


def test_killed_before_the_price_landed_the_resume_still_writes_price_first(
    log, restock, make_plan, make_executor, db
):
    killed_then_resumed(make_plan, make_executor, restock, db, writes=1, step="price")
    assert_price_first(log)


def test_killed_after_the_quantity_write_the_resume_writes_nothing(
    log, restock, make_plan, make_executor, db
):
    # Writes: the SKU's price, HP-011's patch, then the SKU's quantity.
    killed_then_resumed(make_plan, make_executor, restock, db, writes=3, step="quantity")
    assert_price_first(log)
    assert len(log.of(SKU)) == 2


# -- a breaker tripped between the two steps ------------------------------------------------
def test_a_breaker_tripped_between_the_steps_holds_the_quantity_and_says_the_price_is_out(
    log, restock, make_plan, make_executor, db
):
    """The watchdog trips the listing right after its price step is answered: the quantity
    that would put it back on sale is not sent, and the report says the new price was."""
    trip = Breaker("DE", SKU, NOW, "below_floor: 3 units at 0.50", f"INC-202611221200-DE-{SKU}")
    plan, digest = make_plan(restock())
    tripped = []

    def trip_after_the_price_step() -> None:
        if not tripped:
            tripped.extend(breaker.trip(db, SELLER, [trip]))

    report = make_executor(after_write=trip_after_the_price_step).apply(plan, digest, CONFIG_DIGEST)

    assert [w.attributes for w in log.of(SKU)] == [frozenset({"purchasable_offer"})]
    assert report.skipped == ((ADDRESS, PRICE_WRITTEN + breaker.held_back(trip)),)
    assert ADDRESS not in dict(report.failed) and ADDRESS not in report.applied
    assert report.exit_code == 4  # plan again once the incident is acknowledged
    lines = summary_lines(report)
    assert any("the new price was written" in line and trip.incident_id in line for line in lines)
