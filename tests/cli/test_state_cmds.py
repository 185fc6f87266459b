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


def _record(config_dir, sku="HP-100", code="DE"):
    from engine.desired.render import render
    from engine.state import last_applied

    config = load_config(config_dir)
    resource = render(config, NOW).resources[f'listing.{code}["{sku}"]']
    db = open_state(config.project.state, config.state_dir)
    with db.write() as conn:
        last_applied.record(conn, config.project.seller_id, resource, NOW)
    db.close()
    return resource


def test_state_list_and_show_print_the_last_applied_values(config_dir, capsys):
    import json

    resource = _record(config_dir)
    assert run(config_dir, "state", "list") == 0
    out = capsys.readouterr().out
    assert out == (
        'listing.DE["HP-100"]  applied 2026-11-22T12:00:00Z\n'
        "1 listing(s) with last-applied values.\n"
    )
    assert run(config_dir, "state", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "format_version": 1,
        "listings": [{"address": 'listing.DE["HP-100"]', "applied_at": "2026-11-22T12:00:00Z"}],
    }
    assert run(config_dir, "state", "show", 'listing.DE["HP-100"]') == 0
    out = capsys.readouterr().out
    assert out.startswith('listing.DE["HP-100"]  (last applied 2026-11-22T12:00:00Z)\n')
    assert f'"{resource.our_price:f}"' in out
    assert run(config_dir, "state", "show", 'listing.DE["HP-100"]', "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fields"]["our_price"] == f"{resource.our_price:f}"


def test_an_unknown_address_exits_1_naming_close_matches(config_dir, capsys):
    _record(config_dir)
    assert run(config_dir, "state", "show", 'listing.DE["HP-10"]') == 1
    assert capsys.readouterr().err == (
        'Error: no last-applied values for listing.DE["HP-10"]; did you mean '
        'listing.DE["HP-100"]?\n'
    )
    assert run(config_dir, "state", "rm", "nothing-like-it", "--yes") == 1
    assert capsys.readouterr().err == "Error: no last-applied values for nothing-like-it\n"


def test_state_rm_forgets_one_listing_after_confirmation(config_dir, capsys, monkeypatch):
    from engine.state import last_applied

    _record(config_dir)
    _record(config_dir, sku="HP-100", code="US")
    monkeypatch.setattr("click.confirm", lambda *a, **k: False)
    assert run(config_dir, "state", "rm", 'listing.DE["HP-100"]') == 1
    assert "Cancelled; nothing was forgotten." in capsys.readouterr().err
    monkeypatch.setattr("click.confirm", lambda *a, **k: True)
    assert run(config_dir, "state", "rm", 'listing.DE["HP-100"]') == 0
    assert "Forgot the last-applied values of listing.DE" in capsys.readouterr().out
    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    with db.read() as conn:
        assert list(last_applied.load(conn, config.project.seller_id)) == ['listing.US["HP-100"]']
    db.close()


def test_force_unlock_json(config_dir, capsys):
    import json

    config = load_config(config_dir)
    db = open_state(config.project.state, config.state_dir)
    lock = acquire(db, config.project.seller_id, "ci-runner-7 pid 311", "apply", NOW)
    assert run(config_dir, "force-unlock", lock.id, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "format_version": 1,
        "released": {
            "id": lock.id,
            "seller_id": config.project.seller_id,
            "holder": "ci-runner-7 pid 311",
            "operation": "apply",
            "acquired_at": "2026-11-22T12:00:00Z",
        },
    }
    db.close()
