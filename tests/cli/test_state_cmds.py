"""`sync force-unlock ID` against the minimal config's SQLite state store."""

from __future__ import annotations

from engine.cli.main import main
from engine.config import load_config
from engine.state.db import open_state
from engine.state.lock import acquire
from tests.conftest import NOW


def run(config_dir, *args):
    return main(["--config", str(config_dir), *args])


def test_force_unlock_releases_the_named_lock(config_dir, capsys):
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    lock = acquire(db, config.project.seller_id, "ci-runner-7 pid 311", "apply", NOW)

    assert run(config_dir, "force-unlock", lock.id) == 0
    out = capsys.readouterr().out
    assert f"Released the apply lock of seller {config.project.seller_id}" in out
    assert f"ci-runner-7 pid 311 (apply) since 2026-11-22 12:00:00 UTC, lock id {lock.id}" in out
    assert (config.state_dir / "state.sqlite3").is_file()

    acquire(db, config.project.seller_id, "next", "apply", NOW).release()
    db.close()


def test_force_unlock_of_an_unknown_id_exits_1_with_one_line(config_dir, capsys):
    assert run(config_dir, "force-unlock", "0000-not-a-lock") == 1
    err = capsys.readouterr().err
    assert err == (
        "Error: seller A1TESTSELLER holds no apply lock with id 0000-not-a-lock (it is free)\n"
    )


def test_a_missing_dsn_variable_exits_1_naming_it(config_dir, capsys, monkeypatch):
    monkeypatch.delenv("SELLERSYNC_STATE_DSN", raising=False)
    project = config_dir / "project.yaml"
    project.write_text(project.read_text() + "state:\n  backend: postgresql\n")
    assert run(config_dir, "force-unlock", "x") == 1
    assert "SELLERSYNC_STATE_DSN" in capsys.readouterr().err
