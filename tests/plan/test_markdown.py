import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from engine.core.changes import Changeset
from engine.core.identity import BackendIdentity
from engine.core.resource import Resource
from engine.guardrails.verdict import Verdict
from engine.plan.diff import diff
from engine.plan.markdown import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    SANDBOX_TITLE,
    marketplace_summaries,
    render_markdown_parts,
)
from engine.plan.model import Plan
from tests.conftest import NOW
from tests.guardrails.conftest import APPROVED, BLOCK, WARN

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plan-comment-2400.md"


def _plan(changes: Changeset, *, verdicts: Sequence[Verdict] = (), kind: str = "spapi") -> Plan:
    return Plan.build(
        changes,
        created_at=NOW,
        config_digest="0" * 64,
        backend=BackendIdentity(kind, "A1SELLER"),
        guardrails=tuple(verdicts),
    )


def render_markdown(changes: Changeset, *, verdicts: Sequence[Verdict] = (), **options) -> str:
    """The comment of a plan that fits in one part."""
    [text] = render_markdown_parts(_plan(changes, verdicts=verdicts), **options)
    return text


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


def test_fifty_thousand_changes_stop_at_the_most_parts_and_point_to_the_artifact():
    parts = render_markdown_parts(
        _plan(_huge_changeset(50_000)), artifact_hint="plan.json", max_parts=3
    )
    assert len(parts) == 3 and all(len(p) <= GITHUB_COMMENT_LIMIT for p in parts)
    assert "**Plan: 0 to add, 50000 to change, 0 to delete.**" in parts[0]
    assert "not shown to stay within 3 comments of GitHub's size limit." in parts[-1]
    assert parts[-1].rstrip().endswith("The full plan is in plan.json.")
    for part in parts:
        assert part.count("<details>") == part.count("</details>")


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
    text = render_markdown_parts(
        _plan(_huge_changeset(50_000), verdicts=blocks), artifact_hint="plan.json"
    )[0]
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


MARKETPLACES = {
    "US": "USD",
    "CA": "CAD",
    "MX": "MXN",
    "DE": "EUR",
    "FR": "EUR",
    "IT": "EUR",
    "ES": "EUR",
    "UK": "GBP",
    "JP": "JPY",
}


def _listing(marketplace: str, i: int) -> Resource:
    return Resource(
        marketplace=marketplace,
        sku=f"SKU-{i:05d}",
        product_type="HEADPHONES",
        currency=MARKETPLACES[marketplace],
        language="en",
        fulfillment_channel="MFN",
        our_price=Decimal("40.00") + i % 17,
        title=f"Wireless headphones model {i}, over-ear, with a long enough title",
        quantity=5 + i % 9,
    )


def large_plan() -> Plan:
    """2,400 changes over 9 marketplaces: per marketplace 10 listings added, 5 deleted and
    the rest (251 or 252) repriced by -20% to +15% and restocked."""
    desired: dict[str, Resource] = {}
    live: dict[str, Resource] = {}
    for index, code in enumerate(MARKETPLACES):
        for i in range(262 if index < 6 else 261):
            listing = _listing(code, i)
            if i >= 10:
                factor = Decimal(80 + (i * 7) % 36) / 100
                old = listing.our_price / factor
                live[listing.address] = replace(
                    listing,
                    our_price=old.quantize(Decimal("0.01")),
                    quantity=listing.quantity + 1 + i % 3,
                )
            desired[listing.address] = listing
        for i in range(5):
            gone = _listing(code, 9000 + i)
            live[gone.address] = gone
    changes = diff(desired, live, prune=lambda marketplace, sku: True)
    assert len(changes.changes) == 2_400
    return _plan(changes)


def test_a_2400_change_plan_is_split_into_parts_that_hold_every_change():
    plan = large_plan()
    parts = render_markdown_parts(plan, limit=GITHUB_COMMENT_LIMIT - 2_000)
    assert len(parts) > 1
    summary = parts[0][: parts[0].index("<details>")]
    for code in MARKETPLACES:
        assert re.search(rf"^\| {code} \| 10 \| \d+ \| 5 \| \d+ \| -20.0% \|", summary, re.M), code
    for number, part in enumerate(parts, start=1):
        assert len(part) <= GITHUB_COMMENT_LIMIT - 2_000
        assert part.startswith(MARKER)
        assert f"**Plan part {number} of {len(parts)}**" in part
        assert part.count("```") % 2 == 0, "every fence closed within its part"
        assert part.count("<details>") == part.count("</details>")
    headlines = [
        line for part in parts for line in part.splitlines() if re.match(r"^[+~-] listing\.", line)
    ]
    assert sorted(headlines) == sorted(
        f"{'+~-'['cud'.index(c.action[0])]} {c.address}" for c in plan.changes
    )
    assert "Truncated" not in "".join(parts)
    assert EXAMPLE.read_text(encoding="utf-8") == parts[0], (
        "docs/examples/plan-comment-2400.md is the first part of this plan: regenerate it"
    )


def test_a_marketplace_split_across_parts_says_which_of_its_changes_each_part_holds():
    parts = render_markdown_parts(large_plan(), limit=GITHUB_COMMENT_LIMIT - 2_000)
    ranges = re.findall(r"<summary>(\w\w): changes (\d+)-(\d+) of (\d+)</summary>", "".join(parts))
    assert ranges, "some marketplace spans two parts"
    code = ranges[0][0]
    spans = [(int(a), int(b), int(n)) for c, a, b, n in ranges if c == code]
    assert spans[0][0] == 1 and spans[-1][1] == spans[-1][2]
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(spans))


def test_price_change_spread_is_exact_in_decimal(make_config_cached):
    desired = make_config_cached
    live = dict(desired)
    address = 'listing.DE["HP-100"]'
    live[address] = replace(live[address], our_price=Decimal("59.99"))
    [de] = [s for s in marketplace_summaries(diff(desired, live).changes) if s.marketplace == "DE"]
    expected = (Decimal("57.99") - Decimal("59.99")) / Decimal("59.99") * 100
    assert de.spread() == (expected, expected, expected)
    assert "| DE | 0 | 1 | 0 | 1 | -3.3% | -3.3% | -3.3% |" in render_markdown(diff(desired, live))


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    from engine.plan.markdown import MarketplaceSummary

    values = tuple(Decimal(v) for v in ("-10", "1", "2", "30"))
    assert MarketplaceSummary("US", 0, 4, 0, values).spread() == (
        Decimal("-10"),
        Decimal("1.5"),
        Decimal("30"),
    )


def test_a_sandbox_plan_is_labelled_as_one(make_config_cached):
    desired = make_config_cached
    [text] = render_markdown_parts(_plan(diff(desired, dict(desired)), kind="sandbox"))
    assert text.splitlines()[1] == f"### {SANDBOX_TITLE}"
