"""The field table (engine.core.fields) against the Resource dataclass, its codecs, and a new
row flowing through every layer that derives from the table with no other edit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import typing
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.core.fields import (
    FIELDS,
    MANAGED_FIELDS,
    MONEY,
    OPTIONAL_COUNT,
    OPTIONAL_MONEY,
    SALE_PRICE,
    TEXT,
    TEXT_LIST,
    in_group,
)
from engine.core.resource import VIEW_KEYS, Resource
from engine.core.sale import SalePrice

REPO = Path(__file__).resolve().parents[2]
# Resource attributes that say which listing it is and how it is written, not managed values.
IDENTITY = {"marketplace", "sku", "currency", "language", "identifiers"}
# The Resource annotation each kind stands for (fulfillment_channel's Literal is text).
ANNOTATIONS = {
    TEXT.name: (str,),
    TEXT_LIST.name: (tuple[str, ...],),
    MONEY.name: (Decimal,),
    OPTIONAL_MONEY.name: (Decimal | None,),
    SALE_PRICE.name: (SalePrice | None,),
    OPTIONAL_COUNT.name: (int | None,),
}


def test_the_table_and_the_resource_name_the_same_fields():
    resource_fields = [f.name for f in fields(Resource)]
    assert set(resource_fields) - IDENTITY == set(MANAGED_FIELDS)
    assert len(MANAGED_FIELDS) == len(set(MANAGED_FIELDS))


def test_each_kind_matches_the_resource_annotation_and_default():
    hints = typing.get_type_hints(Resource)
    defaults = {f.name: f.default for f in fields(Resource)}
    for row in FIELDS:
        hint = hints[row.name]
        if typing.get_origin(hint) is typing.Literal:  # fulfillment_channel: MFN | FBA
            hint = str
        assert hint in ANNOTATIONS[row.kind.name], row.name
        if row.kind is MONEY:
            assert defaults[row.name] is MISSING, row.name  # a listing always has a price
        elif row.kind in (OPTIONAL_MONEY, SALE_PRICE, OPTIONAL_COUNT):
            assert defaults[row.name] is None, row.name


def test_every_row_has_a_write_group_and_an_attribute_where_one_is_written():
    groups = {"put", "replace", "offer", "merge"}
    assert {row.group for row in FIELDS} <= groups
    assert sum(len(in_group(g)) for g in groups) == len(FIELDS)
    for row in FIELDS:
        if row.group != "put":
            assert row.attribute, row.name


def test_the_json_view_keeps_its_key_order():
    resource = Resource("DE", "HP-1", "HEADPHONES", "EUR", "de", "MFN", Decimal("19.99"))
    assert tuple(resource.to_dict()) == VIEW_KEYS
    assert VIEW_KEYS[:5] == ("marketplace", "sku", "product_type", "currency", "language")


@pytest.mark.parametrize(
    ("kind", "value", "view"),
    [
        (TEXT, "Kopfhörer", "Kopfhörer"),
        (TEXT_LIST, ("a", "b"), ["a", "b"]),
        (MONEY, Decimal("1200"), "1200"),
        (OPTIONAL_MONEY, Decimal("19.90"), "19.90"),
        (OPTIONAL_MONEY, None, None),
        (OPTIONAL_COUNT, 3, 3),
        (OPTIONAL_COUNT, None, None),
        (
            SALE_PRICE,
            SalePrice(
                Decimal("9.99"),
                datetime(2026, 11, 27, tzinfo=UTC),
                datetime(2026, 12, 1, tzinfo=UTC),
            ),
            {"price": "9.99", "start": "2026-11-27T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
        ),
        (SALE_PRICE, None, None),
    ],
)
def test_kind_codecs_round_trip_exactly(kind, value, view):
    assert kind.to_json(value) == view
    decoded = kind.from_json(view)
    assert decoded == value
    assert type(decoded) is type(value)
    if isinstance(value, Decimal):
        assert decoded.as_tuple() == value.as_tuple()  # 19.90 stays 19.90, not 19.9


# A B2B price as a new field would add it: one row in the table and one Resource attribute
# (at the end, so that positional constructions elsewhere keep working).
NEW_ROW = '    Field("business_price", OPTIONAL_MONEY, "replace", "business_price", "amount"),\n'
NEW_ATTRIBUTE = "    business_price: Decimal | None = None\n"

FLOW = textwrap.dedent(
    """
    import tempfile
    from dataclasses import replace
    from datetime import UTC, datetime
    from decimal import Decimal
    from pathlib import Path

    from engine.core.changes import field_values
    from engine.core.fields import MANAGED_FIELDS, MONEY_FIELDS
    from engine.core.resource import Resource
    from engine.live.attributes import resource_attributes, resource_from_attributes
    from engine.live.backend import LiveListing
    from engine.live.patches import listing_patches, write_kind
    from engine.live.bulk_read import CachedListing, Snapshot, SnapshotCache
    from engine.plan.diff import diff
    from engine.plan.model import change_from_json, Plan
    from engine.core.identity import BackendIdentity
    from engine.state.last_applied import decode

    assert MANAGED_FIELDS[-1] == "business_price" and "business_price" in MONEY_FIELDS
    live = Resource("DE", "HP-1", "HEADPHONES", "EUR", "de", "MFN", Decimal("19.99"),
                    title="Kopfhörer", quantity=5, business_price=Decimal("17.00"))
    want = replace(live, business_price=Decimal("16.50"))
    assert field_values(want)[-1] == Decimal("16.50")

    # diff, with the cause from last-applied values decoded by the field's kind
    applied = decode({**{n: None for n in MANAGED_FIELDS}, "business_price": "17.00"})
    assert applied["business_price"] == Decimal("17.00")
    changeset = diff({live.address: want}, {live.address: live}, {live.address: applied})
    (change,) = changeset.changes
    assert [(f.field, f.before, f.after, f.cause) for f in change.fields] == [
        ("business_price", Decimal("17.00"), Decimal("16.50"), "config")
    ]

    # the plan file's view and back (its minor-unit check included)
    plan = Plan.build(changeset, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                      config_digest="d", backend=BackendIdentity("sandbox", "S"))
    item = plan.to_json()["resource_changes"][0]
    assert item["change"]["after"]["business_price"] == "16.50"
    assert change_from_json(item) == change
    assert Resource.from_dict(want.to_dict()) == want

    # the write: a patch of the field's own attribute, and attributes that read back
    assert write_kind(change) == "patch"
    assert listing_patches(change) == [{
        "op": "replace", "path": "/attributes/business_price",
        "value": [{"value": Decimal("16.50"), "currency": "EUR",
                   "marketplace_id": "A1PA6795UKMFR9"}],
    }]
    attributes = resource_attributes(want)
    assert resource_from_attributes("DE", "HP-1", "HEADPHONES", attributes) == want

    # the snapshot cache
    cache = SnapshotCache(Path(tempfile.mkdtemp()))
    entry = CachedListing("digest", LiveListing(want, ("BUYABLE",), (), "B0TEST"))
    cache.save(Snapshot("DE", datetime(2026, 1, 1, tzinfo=UTC), {"HP-1": entry}))
    assert cache.load("DE").entries["HP-1"] == entry
    print("flowed")
    """
)


def test_a_new_row_flows_through_every_derived_layer(tmp_path):
    """Copy the engine, make exactly the two edits a new field needs (a table row, a Resource
    attribute) and run the diff, plan file, last-applied decoding, patch, attribute and
    snapshot code on it: none of them needs an edit of its own."""
    engine = tmp_path / "engine"
    shutil.copytree(REPO / "engine", engine, ignore=shutil.ignore_patterns("__pycache__"))
    table = engine / "core" / "fields.py"
    text = table.read_text(encoding="utf-8")
    end_of_table = "    ),\n)\n\nMANAGED_FIELDS"
    assert text.count(end_of_table) == 1
    table.write_text(
        text.replace(end_of_table, "    ),\n" + NEW_ROW + ")\n\nMANAGED_FIELDS"),
        encoding="utf-8",
    )
    resource = engine / "core" / "resource.py"
    text = resource.read_text(encoding="utf-8")
    last_attribute = "    identifiers: tuple[tuple[str, str], ...] = field(default=())\n"
    assert text.count(last_attribute) == 1
    resource.write_text(
        text.replace(last_attribute, last_attribute + NEW_ATTRIBUTE), encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-c", FLOW],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "flowed"
