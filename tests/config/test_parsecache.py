"""The parse cache: unchanged files come back as they were parsed, anything else is a miss."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from engine.config import ConfigErrors, parsepool
from engine.config.loader import load_config
from engine.config.parsecache import ParseCache
from tests.minimal_config import edited, write_config

PRODUCTS = "products/audio.yaml"


def entries(root: Path) -> set[str]:
    folder = root.parent / ".sellersync" / "cache" / "config"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """Names of the files parsed (not taken from the cache) from now on."""
    seen: list[str] = []
    original = parsepool.read_and_validate

    def spy(path: Path, name: str, kind: str):
        seen.append(path.name)
        return original(path, name, kind)

    monkeypatch.setattr(parsepool, "read_and_validate", spy)
    return seen


def test_unchanged_files_are_not_parsed_again(tmp_path, parsed):
    root = write_config(tmp_path / "config")
    first = load_config(root, parse_cache=True)
    assert len(entries(root)) == len(parsed) == 5
    parsed.clear()
    again = load_config(root, parse_cache=True)
    assert parsed == []
    assert again.digest == first.digest
    assert again.products == first.products and again.marketplaces == first.marketplaces
    # Positions still come from the file, for errors and `sync explain`.
    assert (
        again.products["HP-100"]
        .at("base_price")
        .describe()
        .endswith("audio.yaml:6 (products[0].base_price)")
    )


def test_an_edited_file_is_parsed_again_and_its_old_entry_pruned(tmp_path, parsed):
    root = write_config(tmp_path / "config")
    load_config(root, parse_cache=True)
    before = entries(root)
    write_config(root, edited(PRODUCTS, 'base_price: "59.99"', 'base_price: "54.99"'))
    parsed.clear()
    config = load_config(root, parse_cache=True)
    assert parsed == ["audio.yaml"]
    assert str(config.products["HP-100"].base_price) == "54.99"
    after = entries(root)
    assert len(after) == len(before) and len(after - before) == 1


def test_validate_and_failed_loads_leave_nothing_behind(tmp_path):
    root = write_config(tmp_path / "config")
    load_config(root)  # no parse_cache: `sync validate` writes nothing
    assert entries(root) == set()
    # Every file is valid on its own; the approval names a SKU no product has.
    approvals = (
        "approvals:\n  - rule: price_floor\n    scope: {skus: [NOPE-1]}\n    approves: {value: 1}\n"
        "    reason: r\n    approver: a\n    expires: 2026-12-31T00:00:00Z\n"
    )
    write_config(root, {"approvals.yaml": approvals})
    with pytest.raises(ConfigErrors, match="1 config error"):
        load_config(root, parse_cache=True)
    assert entries(root) == set()


def test_a_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path, parsed):
    root = write_config(tmp_path / "config")
    load_config(root, parse_cache=True)
    folder = root.parent / ".sellersync" / "cache" / "config"
    for entry in folder.iterdir():
        entry.write_bytes(b"\x80\x05not a pickle")
    parsed.clear()
    load_config(root, parse_cache=True)
    assert len(parsed) == 5
    parsed.clear()
    load_config(root, parse_cache=True)
    assert parsed == []


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_an_entry_that_would_build_anything_but_data_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = ParseCache(tmp_path / "state")
    key = cache.key(b"\0" * 32, "fx")
    cache.directory.mkdir(parents=True)
    (cache.directory / f"{key}.pickle").write_bytes(pickle.dumps({"rates": _RunsCode()}))
    assert cache.get(key) is None
    assert not (tmp_path / "pwned").exists()


def test_parse_workers_hand_their_files_over_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(parsepool, "PARALLEL_THRESHOLD_BYTES", 0)  # workers even for this one
    root = write_config(tmp_path / "config")
    in_workers = load_config(root, parse_cache=True)
    assert in_workers.products == load_config(root).products
    assert len(entries(root)) == 5 and all(e.endswith(".pickle") for e in entries(root))
    write_config(root, edited(PRODUCTS, 'base_price: "59.99"', 'base_price: "-1"'))
    with pytest.raises(ConfigErrors):
        load_config(root, parse_cache=True)
    assert len(entries(root)) == 5  # the failed load staged and then dropped its files
