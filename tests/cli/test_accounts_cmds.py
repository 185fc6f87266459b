"""`sync accounts`: the table for people, one JSON line for a CI matrix, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli.main import main
from tests.config.test_accounts import write_account


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SELLERSYNC_BACKEND", raising=False)
    write_account(tmp_path / "accounts" / "north", "A1NORTHSELLER", "[US]")
    write_account(tmp_path / "accounts" / "south", "A1SOUTHSELLER", "[DE, JP]")
    return tmp_path


def test_table_lists_each_account(repo, capsys):
    assert main(["accounts", "--root", str(repo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "account",
        "seller",
        "id",
        "marketplaces",
        "backend",
        "state",
        "config",
    ]
    assert lines[2].split()[:6] == [
        "accounts/south",
        "A1SOUTHSELLER",
        "DE",
        "JP",
        "sandbox",
        "sqlite",
    ]
    assert lines[-1] == "2 account(s)."


def test_json_is_one_line_a_matrix_can_include(repo, capsys):
    assert main(["accounts", "--root", str(repo), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    matrix = json.loads(out)
    assert [(m["name"], m["seller_id"]) for m in matrix] == [
        ("accounts/north", "A1NORTHSELLER"),
        ("accounts/south", "A1SOUTHSELLER"),
    ]
    assert Path(matrix[0]["config_dir"]) == repo / "accounts" / "north"


def test_duplicate_seller_is_one_error_line_and_exit_1(repo, capsys):
    write_account(repo / "accounts" / "twin", "A1SOUTHSELLER")
    assert main(["accounts", "--root", str(repo), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("Error: seller A1SOUTHSELLER is configured in both ")
    assert str(repo / "accounts" / "south") in line and str(repo / "accounts" / "twin") in line


def test_bad_override_in_the_environment_is_reported(repo, capsys, monkeypatch):
    monkeypatch.setenv("SELLERSYNC_BACKEND", "amazon")
    assert main(["accounts", "--root", str(repo)]) == 1
    assert "SELLERSYNC_BACKEND: 'amazon' is not a backend override" in capsys.readouterr().err
