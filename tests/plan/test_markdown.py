from dataclasses import replace
from decimal import Decimal

from engine.core.resource import Resource
from engine.guardrails.verdict import Verdict
from engine.plan.diff import diff
from engine.plan.markdown import GITHUB_COMMENT_LIMIT, MARKER, render_markdown
from tests.guardrails.conftest import APPROVED, BLOCK, WARN


def test_markdown_has_summary_table_and_a_section_per_marketplace(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    del live['listing.JP["SPK-1"]']
    text = render_markdown(diff(desired, live))
    assert text.startswith(MARKER)
    assert "**Plan: 1 to add, 1 to change, 0 to delete.**" in text
    assert "| DE | 0 | 1 | 0 |" in text and "| JP | 1 | 0 | 0 |" in text
    assert "<details><summary>DE: 1 change(s)</summary>" in text
    assert "~ our_price = 59.99 EUR -> 57.99 EUR" in text
    assert "Truncated" not in text


def _huge_changeset(n: int):
    desired = {}
    for i in range(n):
        r = Resource(
            marketplace=("US", "DE", "JP")[i % 3],
            sku=f"SKU-{i:06d}",
            product_type="HEADPHONES",
            currency="USD",
            language="en",
            fulfillment_channel="MFN",
            our_price=Decimal("10.00"),
            title=f"Product {i} with a reasonably long title for realism",
            quantity=5,
        )
        desired[r.address] = r
    live = {a: replace(r, our_price=Decimal("12.00"), quantity=3) for a, r in desired.items()}
    return diff(desired, live)


def test_fifty_thousand_changes_stay_under_githubs_limit():
    changes = _huge_changeset(50_000)
    text = render_markdown(changes, artifact_hint="plan.json")
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "**Plan: 0 to add, 50000 to change, 0 to delete.**" in text
    assert "not shown to stay under GitHub's comment limit. The full plan is in plan.json." in text
    assert text.count("<details>") == text.count("</details>")


def test_notes_say_what_the_plan_was_computed_without(make_config_cached):
    desired = make_config_cached
    text = render_markdown(diff(desired, dict(desired)), notes=("Orders were never pulled.",))
    assert "**No changes. Live listings match the configuration.**\n\n" in text
    assert "> **Note:** Orders were never pulled.\n" in text
    assert "Note" not in render_markdown(diff(desired, dict(desired)))


def test_verdicts_sit_at_the_top_of_the_comment(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    live['listing.DE["HP-100"]'] = replace(live['listing.DE["HP-100"]'], our_price=Decimal("59.99"))
    text = render_markdown(diff(desired, live), verdicts=(WARN, APPROVED, BLOCK))
    assert "**Guardrails: 1 blocked, 1 approved, 1 warnings, 0 passed." in text
    assert text.index("BLOCK") < text.index("APPROVED") < text.index("WARN")
    assert text.index("WARN") < text.index("| marketplace | add | change | delete |")
    assert "approved (value 59.99) by maria.keller until" in text


def test_verdicts_get_at_most_half_the_comment_blocks_kept_first():
    blocks = [
        Verdict("price_floor", "hard-mandatory", "block", "x" * 300, "US", f'listing.US["S-{i}"]')
        for i in range(400)
    ]
    text = render_markdown(_huge_changeset(50_000), verdicts=blocks, artifact_hint="plan.json")
    assert len(text) <= GITHUB_COMMENT_LIMIT
    head = text[: text.index("| marketplace |")]
    assert GITHUB_COMMENT_LIMIT // 3 < len(head) <= GITHUB_COMMENT_LIMIT // 2
    assert 'listing.US["S-0"]' in head and "more guardrail entries in plan.json" in head
    assert "<details>" in text  # changes still get the other half


def test_a_blocked_declared_promotion_is_called_out_under_the_summary(make_config_cached):
    desired = make_config_cached
    floor = replace(BLOCK, promotions=("OOPS-99",), fingerprint="0123456789ab")
    text = render_markdown(diff(desired, dict(desired)), verdicts=(floor,))
    summary = "**No listing changes. Live listings match the configuration.**\n\n"
    assert summary in text
    after = text[text.index(summary) + len(summary) :]
    assert after.startswith("> **Do not create promotion OOPS-99 in Seller Central as declared")
