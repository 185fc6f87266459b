from dataclasses import replace
from decimal import Decimal

from engine.plan.diff import diff
from engine.plan.text import render_text


def test_text_plan_reads_like_terraform(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    del live['listing.JP["SPK-1"]']
    stray = replace(desired['listing.US["HP-100"]'], sku="OLD-1")
    live[stray.address] = stray
    text = render_text(diff(desired, live, prune=lambda m, s: s == "OLD-1"))
    lines = text.splitlines()
    assert '  # listing.DE["HP-100"] will be updated in-place' in lines
    assert "      ~ our_price = 59.99 EUR -> 57.99 EUR" in lines
    assert '  # listing.JP["SPK-1"] will be created' in lines
    assert '  # listing.US["OLD-1"] will be DELETED' in lines
    # The delete is listed before anything else.
    assert text.index("OLD-1") < text.index('listing.DE["HP-100"]')
    assert lines[-1] == "Plan: 1 to add, 1 to change, 1 to delete."


def test_no_changes_says_so(make_config_cached):
    text = render_text(diff(make_config_cached, dict(make_config_cached)))
    assert text == "No changes. Live listings match the configuration."
