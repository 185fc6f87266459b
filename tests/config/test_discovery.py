"""Which files of a config directory are config, of which kind, and which are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.discovery import LAYOUT_HINT, discover, kind_of, missing_required


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x: 1\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("project.yaml", "project"),
        ("fx.yaml", "fx"),
        ("products.yaml", "products"),
        ("products/audio.yaml", "products"),
        ("marketplaces/DE.yaml", "marketplace"),
        ("sales.yaml", "sales"),
        ("sales/q4.yaml", "sales"),
        ("promotions/black-friday.yaml", "promotions"),
        ("approvals.yaml", "approvals"),
        ("incidents/2026.yaml", "incidents"),
        ("warehouses.yaml", "warehouses"),
        ("marketplaces.yaml", None),  # marketplaces only come one file per code
        ("warehouses/eu.yaml", None),  # one warehouses.yaml, no folder
        ("product/audio.yaml", None),  # a misspelt folder
        ("products/audio/more.yaml", None),  # too deep
    ],
)
def test_kind_of_a_path(rel, kind):
    assert kind_of(Path(rel)) == kind


def test_discover_finds_config_files_in_path_order_with_their_kinds(tmp_path):
    touch(tmp_path, "project.yaml", "fx.yml", "products/b.yaml", "products/a.yaml")
    touch(tmp_path, "marketplaces/JP.yaml", "README.md", "stock.csv")
    files, errors = discover(tmp_path)
    assert errors == []
    assert [(p.relative_to(tmp_path).as_posix(), k) for p, k in files] == [
        ("fx.yml", "fx"),
        ("marketplaces/JP.yaml", "marketplace"),
        ("products/a.yaml", "products"),
        ("products/b.yaml", "products"),
        ("project.yaml", "project"),
    ]


def test_hidden_files_and_folders_are_skipped(tmp_path):
    touch(tmp_path, "project.yaml", ".pre-commit-config.yaml", ".github/workflows/ci.yaml")
    touch(tmp_path, "products/.draft.yaml")
    files, errors = discover(tmp_path)
    assert [p.name for p, _ in files] == ["project.yaml"] and errors == []


def test_a_yaml_file_of_no_kind_is_an_error_naming_the_layout(tmp_path):
    touch(tmp_path, "project.yaml", "product/audio.yaml", "notes.yaml")
    files, errors = discover(tmp_path)
    assert [p.name for p, _ in files] == ["project.yaml"]
    assert [(e.file, e.position, e.field) for e in errors] == [
        (str(tmp_path / "notes.yaml"), None, ""),
        (str(tmp_path / "product" / "audio.yaml"), None, ""),
    ]
    assert {e.message for e in errors} == {f"unknown config file; {LAYOUT_HINT}"}


def test_a_folder_named_like_a_yaml_file_is_not_a_file(tmp_path):
    (tmp_path / "sales.yaml").mkdir()
    assert discover(tmp_path) == ([], [])


def test_missing_required_names_project_and_fx_at_the_root(tmp_path):
    assert [e.file for e in missing_required(tmp_path, [])] == [
        str(tmp_path / "project.yaml"),
        str(tmp_path / "fx.yaml"),
    ]
    touch(tmp_path, "project.yaml", "fx.yaml")
    files, _ = discover(tmp_path)
    assert missing_required(tmp_path, files) == []


def test_a_required_file_counts_only_by_its_exact_name(tmp_path):
    """fx.yml is read (a kind of file like any other) but the required file is fx.yaml."""
    touch(tmp_path, "project.yaml", "fx.yml")
    files, _ = discover(tmp_path)
    missing = missing_required(tmp_path, files)
    assert [(e.file, e.message) for e in missing] == [
        (str(tmp_path / "fx.yaml"), "required file is missing")
    ]
