from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.desired.render import explain, render
from engine.desired.stock import Reservation
from tests.conftest import NOW
from tests.minimal_config import MINIMAL_FILES

PULLED = {code: datetime(2026, 11, 22, 11, 58, tzinfo=UTC) for code in ("US", "DE", "JP")}
# 4 HP-100 units sold in two unshipped orders; SPK-1 is FBA, so units against it would be
# Amazon's to ship (the order store never reserves them, but render must ignore them anyway).
RESERVED = Reservation(
    {"HP-100": 4, "SPK-1": 5},
    {"HP-100": ("111-0000001-0000001", "302-0000002-0000002"), "SPK-1": ("111-0000003-0000003",)},
    PULLED,
)

SALES = """\
    sales:
      - id: black-friday
        marketplaces: [DE]
        skus: ["HP-*"]
        discount_pct: 20
        start: 2026-11-27T00:00:00Z
        end: 2026-12-01T00:00:00Z
      - id: december
        marketplaces: [US]
        skus: [HP-100]
        price: "49.99"
        start: 2026-12-05T00:00:00+01:00
        end: 2026-12-10T00:00:00Z
      - id: over
        marketplaces: [US]
        skus: [HP-100]
        price: "39.99"
        start: 2026-11-01T00:00:00Z
        end: 2026-11-10T00:00:00Z
    """


def test_one_resource_per_marketplace_and_sku_in_project_order(make_config):
    state = render(make_config(), NOW)
    assert list(state.resources) == [
        'listing.US["HP-100"]',
        'listing.US["SPK-1"]',
        'listing.DE["HP-100"]',
        'listing.DE["SPK-1"]',
        'listing.JP["HP-100"]',
        'listing.JP["SPK-1"]',
    ]


def test_rendered_listing_carries_language_currency_and_rule_price(make_config):
    de = render(make_config(), NOW).resources['listing.DE["HP-100"]']
    assert (de.currency, de.language, de.title) == ("EUR", "de", "Sonora HP-100 Kopfhörer")
    assert de.our_price == Decimal("57.99")
    assert de.list_price == Decimal("76.59")  # 79.99 × 0.92 + 3.00, no ending
    # min_price is 10.00, but the floor (cost 20.00 USD × 0.92 + 10 %) is higher.
    assert (de.minimum_seller_allowed_price, de.maximum_seller_allowed_price) == (
        Decimal("20.24"),
        Decimal("500.00"),
    )
    assert de.bullet_points == ("Leicht", "Faltbar")


def test_fba_has_no_quantity_and_gets_recommendations(make_config):
    state = render(make_config(), NOW)
    assert state.resources['listing.US["SPK-1"]'].quantity is None
    assert {(r.marketplace, r.recommended_units) for r in state.replenishment} == {
        ("US", 4),
        ("DE", 3),
        ("JP", 3),
    }  # pool 12 - buffer 2 = 10, split 20:20:20


def test_mfn_quantities_come_from_central_stock_and_live_quantities(make_config):
    config = make_config()
    fresh = render(config, NOW)
    # central 30, buffer 2: 28 over three sites needing 20 each → 10, 9, 9
    assert [fresh.resources[f'listing.{m}["HP-100"]'].quantity for m in ("US", "DE", "JP")] == [
        10,
        9,
        9,
    ]
    live = {("US", "HP-100"): 12, ("DE", "HP-100"): 1, ("JP", "HP-100"): 5}
    later = render(config, NOW, live)
    # The 18 units advertised are reserved: the pool is 30 - 2 - 18 = 10. Only DE is below
    # its alert level (5); it needs 19 and gets the whole pool.
    assert [later.resources[f'listing.{m}["HP-100"]'].quantity for m in ("US", "DE", "JP")] == [
        12,
        11,
        5,
    ]
    missing = make_config({"stock.csv": "sku,on_hand\nSPK-1,12\n"})
    # HP-100 is not in the stock file: on hand is unknown, so live quantities stay.
    assert render(missing, NOW, live).resources['listing.DE["HP-100"]'].quantity == 1


def test_units_reserved_for_unshipped_orders_lower_mfn_quantities_and_leave_fba_alone(
    make_config,
):
    config = make_config()
    plain = render(config, NOW)
    reserved = render(config, NOW, reservation=RESERVED)
    # 30 on hand less 4 sold and the buffer of 2: 24 over three sites needing 20 each.
    assert [reserved.resources[f'listing.{m}["HP-100"]'].quantity for m in ("US", "DE", "JP")] == [
        8,
        8,
        8,
    ]
    assert sum(plain.resources[f'listing.{m}["HP-100"]'].quantity for m in ("US", "DE", "JP")) == 28
    assert reserved.replenishment == plain.replenishment  # FBA: pool 12 - 2 whatever is sold
    assert reserved.resources['listing.US["SPK-1"]'] == plain.resources['listing.US["SPK-1"]']
    # No reservation (orders never pulled) renders exactly as before reservations existed.
    assert render(config, NOW, reservation=None) == plain


def test_override_wins_over_rule_and_texts(make_config):
    config = make_config(
        {
            "marketplaces/DE.yaml": """\
        marketplace: DE
        pricing: {tax_delta: "3.00", min_price: "10.00", max_price: "500.00"}
        overrides:
          HP-100:
            our_price: "54.5"
            title: Sonderedition
            stock: {alert_level: 0}
        """
        }
    )
    de = render(config, NOW).resources['listing.DE["HP-100"]']
    assert de.our_price == Decimal("54.50")
    assert de.title == "Sonderedition"
    assert de.bullet_points == ("Leicht", "Faltbar")  # not overridden


def test_product_layer_beats_marketplace_and_override_beats_product(make_config):
    from tests.minimal_config import MINIMAL_FILES

    products = MINIMAL_FILES["products/audio.yaml"].replace(
        "            fulfillment: FBA\n",
        "            fulfillment: FBA\n            pricing: {rounding: up}\n",
    )
    de = """\
        marketplace: DE
        pricing: {tax_delta: "3.00", rounding: nearest}
        overrides:
          HP-100:
            pricing: {rounding: up}
        """
    state = render(make_config({"products/audio.yaml": products, "marketplaces/DE.yaml": de}), NOW)
    # SPK-1: 99 × 0.92 + 3 = 94.08; the product's "up" beats DE's "nearest" → 94.99
    assert state.resources['listing.DE["SPK-1"]'].our_price == Decimal("94.99")
    # HP-100: 58.19; the override's "up" beats DE's "nearest" (which gives 57.99)
    assert state.resources['listing.DE["HP-100"]'].our_price == Decimal("58.99")
    assert state.resources['listing.US["SPK-1"]'].our_price == Decimal("99.99")


def test_sale_prices_windows_and_expired_sales(make_config):
    state = render(make_config({"sales.yaml": SALES}), NOW)
    de = state.resources['listing.DE["HP-100"]']
    assert de.sale is not None
    assert de.sale.price == Decimal("46.39")  # 57.99 less 20 %
    assert de.sale.start == datetime(2026, 11, 27, tzinfo=UTC)
    us = state.resources['listing.US["HP-100"]']
    assert us.sale is not None and us.sale.price == Decimal("49.99")
    assert us.sale.start == datetime(2026, 12, 4, 23, tzinfo=UTC)  # +01:00 normalised to UTC
    assert state.resources['listing.JP["HP-100"]'].sale is None
    after = render(make_config({"sales.yaml": SALES}), datetime(2026, 12, 1, tzinfo=UTC))
    assert after.resources['listing.DE["HP-100"]'].sale is None  # end is exclusive


def test_include_exclude_patterns(make_config):
    config = make_config(
        {
            "marketplaces/JP.yaml": """\
        marketplace: JP
        pricing: {ending: "80"}
        listings: {include: ["HP-*", "SPK-*"], exclude: ["SPK-*"]}
        """
        }
    )
    state = render(config, NOW)
    assert 'listing.JP["SPK-1"]' not in state.resources
    assert 'listing.JP["HP-100"]' in state.resources


def test_a_product_limited_to_marketplaces_is_listed_only_there(make_config):
    from tests.minimal_config import MINIMAL_FILES

    text = MINIMAL_FILES["products/audio.yaml"].replace(
        "            fulfillment: FBA\n",
        "            fulfillment: FBA\n            marketplaces: [DE, JP]\n",
    )
    config = make_config({"products/audio.yaml": text})
    resources = render(config, NOW).resources
    assert [a for a in resources if "SPK-1" in a] == ['listing.DE["SPK-1"]', 'listing.JP["SPK-1"]']
    assert not config.marketplaces["US"].lists("SPK-1")
    assert config.marketplaces["DE"].lists("SPK-1") and config.marketplaces["US"].lists("HP-100")


def test_needs_review_excludes_listing_and_lists_it(make_config):
    from tests.minimal_config import MINIMAL_FILES

    text = MINIMAL_FILES["products/audio.yaml"].replace(
        "              ja: {title: Sonora SPK-1 スピーカー}\n",
        "            missing_translation: needs_review\n",
    )
    state = render(make_config({"products/audio.yaml": text}), NOW)
    assert 'listing.JP["SPK-1"]' not in state.resources
    assert [(n.marketplace, n.sku) for n in state.needs_review] == [("JP", "SPK-1")]
    assert "no 'ja' translation" in state.needs_review[0].reason


def test_render_refuses_naive_time(make_config):
    import pytest

    with pytest.raises(ValueError, match="timezone-aware"):
        render(make_config(), datetime(2026, 11, 22))


def test_explain_names_the_file_and_line_of_every_field(make_config):
    config = make_config(
        {
            "marketplaces/DE.yaml": """\
        marketplace: DE
        pricing:
          tax_delta: "3.00"
        overrides:
          HP-100:
            title: Sonderedition
        """
        }
    )
    trace = explain(config, NOW, "DE", "HP-100")
    fields = {f.name: f for f in trace.fields}
    assert fields["title"].value == "Sonderedition"
    assert (
        fields["title"]
        .origins[0]
        .describe()
        .endswith("marketplaces/DE.yaml:6 (overrides.HP-100.title)")
    )
    origins = [o.describe() for o in fields["our_price"].origins]
    assert any(o.endswith("products/audio.yaml:6 (products[0].base_price)") for o in origins)
    assert any(o.endswith("fx.yaml:5 (rates.EUR)") for o in origins)
    assert any(o.endswith("marketplaces/DE.yaml:3 (pricing.tax_delta)") for o in origins)
    assert any(o.endswith("project.yaml:15 (defaults.pricing.ending)") for o in origins)
    assert "58.19" in fields["our_price"].note
    value, origin = trace.settings["stock.alert_level"]
    assert value == 5 and origin.describe().endswith("project.yaml:18 (defaults.stock.alert_level)")
    assert trace.settings["missing_translation"] == ("error", None)


def test_explain_says_how_many_units_were_reserved_and_from_which_orders(make_config):
    config = make_config()
    fields = {f.name: f for f in explain(config, NOW, "DE", "HP-100", reservation=RESERVED).fields}
    assert fields["quantity"].value == 8
    assert fields["quantity"].note == (
        "allocated from central stock (see docs/config.md, stock allocation); 30 on hand, 4 "
        "reserved for unshipped orders (111-0000001-0000001, 302-0000002-0000002), from orders "
        "pulled for US, DE, JP until 2026-11-22 11:58 UTC"
    )
    unknown = {f.name: f for f in explain(config, NOW, "DE", "HP-100").fields}
    assert unknown["quantity"].value == 9
    assert unknown["quantity"].note.endswith(
        "30 on hand; units in unshipped orders unknown (orders never pulled: "
        "`sync orders pull`), none reserved"
    )
    fba = {f.name: f for f in explain(config, NOW, "DE", "SPK-1", reservation=RESERVED).fields}
    assert (fba["quantity"].value, fba["quantity"].note) == (None, "FBA: Amazon owns quantity")
    missing = make_config({"stock.csv": "sku,on_hand\nSPK-1,12\n"})
    [quantity] = [f for f in explain(missing, NOW, "DE", "HP-100").fields if f.name == "quantity"]
    assert quantity.note.endswith("on hand unknown (not in the stock file): live quantity kept")


@settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    st.dictionaries(
        st.tuples(st.sampled_from(["US", "DE", "JP"]), st.just("HP-100")), st.integers(-2, 40)
    ),
)
def test_rendering_is_deterministic(make_config, now, live):
    config = make_config({"sales.yaml": SALES})
    first = render(config, now, live)
    second = render(config, now, dict(live))
    assert first == second
    assert [r.to_dict() for r in first.resources.values()] == [
        r.to_dict() for r in second.resources.values()
    ]


EURO_MARKETPLACE = """\
    marketplace: {code}
    currency: EUR
    pricing:
      tax_delta: "{tax}"
      min_price: "10.00"
      max_price: "500.00"
    """
EURO_PRODUCTS = """\
    products:
      - sku: HP-100
        product_type: HEADPHONES
        brand: Sonora
        cost: {amount: "20.00", currency: USD}
        base_price: "59.99"
        list_price: "79.99"
        fulfillment: MFN
        texts:
          en: {title: Sonora HP-100 headphones}
          de: {title: Sonora HP-100 Kopfhörer}
          fr: {title: Casque Sonora HP-100}
          it: {title: Cuffie Sonora HP-100}
          ja: {title: Sonora HP-100 ヘッドホン}
      - sku: SPK-1
        product_type: SPEAKERS
        brand: Sonora
        cost: {amount: "30.00", currency: USD}
        base_price: "99.00"
        fulfillment: FBA
        texts:
          en: {title: Sonora SPK-1 speaker}
          de: {title: Sonora SPK-1 Lautsprecher}
          fr: {title: Enceinte Sonora SPK-1}
          it: {title: Altoparlante Sonora SPK-1}
          ja: {title: Sonora SPK-1 スピーカー}
    """


def test_marketplaces_with_equal_rules_share_prices_and_explain_agrees(make_config):
    # FR prices exactly as DE (same currency and settings), IT has its own tax delta; DE
    # overrides HP-100's price. Shared prices must match what explain works out one by one.
    de = EURO_MARKETPLACE.format(code="DE", tax="3.00").rstrip(" ") + (
        '    overrides:\n      HP-100: {our_price: "44.99"}\n'
    )
    config = make_config(
        {
            "project.yaml": MINIMAL_FILES["project.yaml"].replace(
                "[US, DE, JP]", "[US, DE, FR, IT, JP]"
            ),
            "products/audio.yaml": EURO_PRODUCTS,
            "marketplaces/DE.yaml": de,
            "marketplaces/FR.yaml": EURO_MARKETPLACE.format(code="FR", tax="3.00"),
            "marketplaces/IT.yaml": EURO_MARKETPLACE.format(code="IT", tax="4.00"),
        }
    )
    resources = render(config, NOW).resources
    de_spk, fr_spk, it_spk = (resources[f'listing.{m}["SPK-1"]'] for m in ("DE", "FR", "IT"))
    assert fr_spk.our_price is de_spk.our_price  # one computation, one Decimal
    assert fr_spk.minimum_seller_allowed_price is de_spk.minimum_seller_allowed_price
    assert it_spk.our_price == de_spk.our_price + 1
    assert resources['listing.DE["HP-100"]'].our_price == Decimal("44.99")
    assert resources['listing.FR["HP-100"]'].our_price != Decimal("44.99")
    for resource in resources.values():
        traced = {f.name: f.value for f in explain(config, NOW, *resource.key).fields}
        for name in ("our_price", "list_price", "minimum_seller_allowed_price", "quantity"):
            assert traced[name] == getattr(resource, name), (resource.address, name)


def test_a_render_without_replenishment_differs_in_nothing_else(make_config):
    config = make_config()
    full = render(config, NOW, {("DE", "SPK-1"): 1})
    lean = render(config, NOW, {("DE", "SPK-1"): 1}, replenishment=False)
    assert full.replenishment and lean.replenishment == ()
    assert lean.resources == full.resources and lean.needs_review == full.needs_review


def test_equal_prices_in_two_currencies_keep_their_own_minor_units(make_config):
    # 1980 USD with a ".00" ending and 1980 JPY at a rate of 1 are equal Decimals; each must
    # still carry its own currency's minor units.
    config = make_config(
        {
            "fx.yaml": MINIMAL_FILES["fx.yaml"].replace('JPY: "150.00"', 'JPY: "1"'),
            "products/audio.yaml": MINIMAL_FILES["products/audio.yaml"].replace(
                'base_price: "59.99"', 'base_price: "1980"'
            ),
            "marketplaces/US.yaml": 'marketplace: US\npricing:\n  ending: ".00"\n',
        }
    )
    resources = render(config, NOW).resources
    us, jp = resources['listing.US["HP-100"]'], resources['listing.JP["HP-100"]']
    assert us.our_price == jp.our_price
    assert (f"{us.our_price:f}", f"{jp.our_price:f}") == ("1980.00", "1980")
