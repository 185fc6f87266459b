"""Finding the seller accounts of a repository: one config directory each."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigErrors
from engine.config.accounts import DuplicateSellerError, discover_accounts, find_account_dirs
from engine.core.errors import UserError
from tests.minimal_config import edited, write_config


def write_account(folder: Path, seller_id: str, marketplaces: str = "[US, DE, JP]") -> Path:
    project = edited("project.yaml", "id: A1TESTSELLER", f"id: {seller_id}")["project.yaml"]
    project = project.replace("marketplaces: [US, DE, JP]", f"marketplaces: {marketplaces}")
    return write_config(folder, {"project.yaml": project})


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    """A repository with three accounts, state and tooling directories beside them."""
    write_account(tmp_path / "accounts" / "north", "A1NORTHSELLER", "[US]")
    write_account(tmp_path / "accounts" / "south", "A1SOUTHSELLER", "[DE, JP]")
    write_account(tmp_path / "config", "A1DEMOSELLER")
    write_account(tmp_path / ".venv" / "site", "A1HIDDENSELLER")
    (tmp_path / "tests").mkdir()
    return tmp_path


def test_accounts_are_found_in_stable_order_skipping_hidden_directories(agency):
    accounts = discover_accounts(agency, env={})
    assert [(a.name, a.project.seller_id) for a in accounts] == [
        ("accounts/north", "A1NORTHSELLER"),
        ("accounts/south", "A1SOUTHSELLER"),
        ("config", "A1DEMOSELLER"),
    ]
    assert accounts[1].config_dir == agency / "accounts" / "south"


def test_a_config_directory_is_not_searched_for_further_accounts(tmp_path):
    write_account(tmp_path / "config", "A1OUTERSELLER")
    write_account(tmp_path / "config" / "products" / "nested", "A1INNERSELLER")
    assert find_account_dirs(tmp_path) == [tmp_path / "config"]


def test_root_that_is_an_account_is_named_after_its_directory(tmp_path):
    root = write_account(tmp_path / "config", "A1DEMOSELLER")
    [account] = discover_accounts(root, env={})
    assert (account.name, account.config_dir) == ("config", root)


def test_matrix_entry_carries_what_a_ci_job_needs(agency):
    entry = discover_accounts(agency, env={})[1].matrix_entry()
    assert entry == {
        "name": "accounts/south",
        "config_dir": (agency / "accounts" / "south").as_posix(),
        "seller_id": "A1SOUTHSELLER",
        "seller_name": "Test Audio",
        "marketplaces": ["DE", "JP"],
        "backend": "sandbox",
        "state_backend": "sqlite",
    }


def test_same_seller_in_two_directories_names_both(agency):
    write_account(agency / "accounts" / "west", "A1NORTHSELLER", "[US]")
    with pytest.raises(DuplicateSellerError) as caught:
        discover_accounts(agency, env={})
    [line] = caught.value.lines()
    north, west = agency / "accounts" / "north", agency / "accounts" / "west"
    assert line.startswith(f"seller A1NORTHSELLER is configured in both {north} and {west};")


def test_every_invalid_project_file_is_reported_and_nothing_listed(agency):
    write_config(agency / "accounts" / "north", {"project.yaml": "seller: {id: A1NORTHSELLER}\n"})
    write_config(agency / "accounts" / "south", {"project.yaml": "seller: [\n"})
    with pytest.raises(ConfigErrors) as caught:
        discover_accounts(agency, env={})
    files = {e.file for e in caught.value.errors}
    assert files == {
        str(agency / "accounts" / "north" / "project.yaml"),
        str(agency / "accounts" / "south" / "project.yaml"),
    }


def test_no_account_or_no_directory_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match=r"no account under .*: an account is a directory holding"):
        discover_accounts(tmp_path, env={})
    with pytest.raises(UserError, match="missing: no such directory"):
        discover_accounts(tmp_path / "missing", env={})


def test_sandbox_override_shows_in_the_listing(agency):
    project = (agency / "config" / "project.yaml").read_text(encoding="utf-8")
    (agency / "config" / "project.yaml").write_text(
        project + "backend:\n  kind: spapi\nstate:\n  backend: postgresql\n", encoding="utf-8"
    )
    real = discover_accounts(agency, env={})[2].matrix_entry()
    forced = discover_accounts(agency, env={"SELLERSYNC_BACKEND": "sandbox"})[2].matrix_entry()
    assert (real["backend"], real["state_backend"]) == ("spapi", "postgresql")
    assert (forced["backend"], forced["state_backend"]) == ("sandbox", "sqlite")
