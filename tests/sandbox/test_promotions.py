"""Sandbox promotions: validation with field-named errors, matching, price, no stacking."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.sandbox.promotions import Promotion, PromotionError, best, check
from tests.sandbox.conftest import DE, NOW, US

BASE = Promotion(
    promotion_id="P-1",
    kind="percent-off",
    discount_pct=Decimal("10"),
    sku_pattern="HP-*",
    marketplace_id=US,
    starts_at=NOW,
    ends_at=NOW + timedelta(hours=10),
    created_at=NOW,
)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"promotion_id": "bad id!"}, "id"),
        ({"kind": "coupon"}, "kind"),
        ({"discount_pct": Decimal(0)}, "discount"),
        ({"discount_pct": Decimal(101)}, "discount"),
        ({"sku_pattern": " "}, "sku"),
        ({"ends_at": NOW}, "end"),
        ({"max_redemptions": 0}, "max redemptions"),
        ({"kind": "promo-code"}, "code"),
        ({"kind": "promo-code", "code": "lower"}, "code"),
        ({"code": "SAVE10"}, "code"),
    ],
)
def test_check_names_the_bad_field(change, field):
    with pytest.raises(PromotionError, match=f"^{field}"):
        check(replace(BASE, **change))


def test_check_accepts_a_promo_code():
    promo = replace(BASE, kind="promo-code", code="HEADPHONES99", discount_pct=Decimal(99))
    assert check(promo) is promo


def test_discounted_rounds_to_the_currency():
    promo = replace(BASE, discount_pct=Decimal(99))
    assert promo.discounted(Decimal("99.99"), "USD") == Decimal("1.00")
    assert promo.discounted(Decimal("49.99"), "USD") == Decimal("0.50")
    assert promo.discounted(Decimal("7980"), "JPY") == Decimal("80")


def test_active_window_and_redemption_limit():
    limited = replace(BASE, max_redemptions=2, redemptions=1)
    assert limited.active(NOW) and not limited.active(NOW - timedelta(seconds=1))
    assert not limited.active(BASE.ends_at)
    assert not limited.redeemed().active(NOW)


def test_best_takes_the_largest_discount_that_covers_the_listing():
    small = BASE
    large = replace(BASE, promotion_id="P-2", discount_pct=Decimal(25))
    other_market = replace(BASE, promotion_id="P-3", discount_pct=Decimal(50), marketplace_id=DE)
    other_sku = replace(BASE, promotion_id="P-4", discount_pct=Decimal(60), sku_pattern="SPK-*")
    found = [small, large, other_market, other_sku]
    assert best(found, "HP-100", US, NOW) == large
    assert best(found, "CBL-1", US, NOW) is None
    assert best(found, "HP-100", US, NOW + timedelta(hours=11)) is None
