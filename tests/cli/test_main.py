"""The entry point: commands listed from the registry, imported only when used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest

from engine.cli.main import cli, main
from engine.cli.registry import COMMANDS

# What `sync --help` may load: the entry point, its options and the registry, and the two
# core modules its error handler needs. Nothing that opens a connection or a backend.
HELP_MODULES = {
    "engine",
    "engine.cli",
    "engine.cli.main",
    "engine.cli.options",
    "engine.cli.registry",
    "engine.core",
    "engine.core.errors",
    "engine.core.exitcodes",
}
HEAVY = ("sqlalchemy", "sp_api", "boto3", "moto", "werkzeug", "jsonschema", "yaml", "rich")


def modules_loaded_by(argv: list[str]) -> tuple[set[str], set[str]]:
    """engine modules and heavy libraries a fresh interpreter has loaded after `sync argv`."""
    script = (
        "import json, sys\n"
        "from engine.cli.main import main\n"
        f"code = main({argv!r})\n"
        f"heavy = [name for name in {HEAVY!r} if name in sys.modules]\n"
        "engine = [name for name in sys.modules if name.split('.')[0] == 'engine']\n"
        "print(json.dumps([code, engine, heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    code, engine, heavy = json.loads(out.splitlines()[-1])
    assert code == 0
    return set(engine), set(heavy)


def test_sync_help_imports_only_the_entry_point():
    engine, heavy = modules_loaded_by(["--help"])
    assert engine == HELP_MODULES
    assert heavy == set()


def test_a_commands_help_imports_its_own_module_not_the_others():
    engine, _ = modules_loaded_by(["accounts", "--help"])
    assert "engine.cli.accounts_cmds" in engine
    assert (
        not {f"engine.cli.{module}" for module, _ in COMMANDS.values()}
        - {"engine.cli.accounts_cmds"}
        & engine
    )


def test_the_registry_names_every_command_and_its_first_sentence():
    for name, (module_name, summary) in COMMANDS.items():
        module = importlib.import_module(f"engine.cli.{module_name}")
        command = next((c for c in module.COMMANDS if c.name == name), None)
        assert command is not None, f"{name} is not in engine.cli.{module_name}.COMMANDS"
        first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
        assert first_paragraph.startswith(summary), name
    defined = {
        command.name
        for module_name in {module for module, _ in COMMANDS.values()}
        for command in importlib.import_module(f"engine.cli.{module_name}").COMMANDS
    }
    assert defined == set(COMMANDS)


def test_help_lists_every_command_with_its_summary(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = out.split("Commands:")[1].split()
    assert [name for name in COMMANDS if name not in listed] == []
    assert "Show what apply would change to make live" in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_reachable(name):
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name


def test_an_unknown_command_is_a_usage_error(capsys):
    assert main(["plna"]) == 1
    assert "No such command 'plna'" in capsys.readouterr().err


def test_no_color_and_NO_COLOR_turn_colour_off_for_every_command(monkeypatch):
    from engine.cli.options import use_color

    seen: list[tuple[bool, bool | None]] = []

    @click.command(name="probe-colour")
    @click.pass_context
    def probe(ctx: click.Context) -> int:
        seen.append((ctx.find_root().obj["color"], ctx.find_root().color))
        return 0

    monkeypatch.setattr(type(cli), "get_command", lambda self, ctx, name: probe)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["probe-colour"]) == 0
    assert main(["--no-color", "probe-colour"]) == 0
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["probe-colour"]) == 0
    monkeypatch.setenv("NO_COLOR", "")
    assert main(["probe-colour"]) == 0
    assert seen == [(True, None), (False, False), (False, False), (True, None)]
    ctx = click.Context(cli, obj={"color": False})
    assert use_color(ctx) is False


def test_the_config_is_found_by_walking_up_and_has_one_state_folder(tmp_path, monkeypatch, capsys):
    from engine.config import load_config
    from tests.minimal_config import write_config

    root = write_config(tmp_path / "repo" / "config")
    (root / "products").mkdir(exist_ok=True)
    expected_state = tmp_path / "repo" / ".sellersync"
    for where, argv in [
        (tmp_path / "repo", ["validate", "--no-guardrails"]),
        (root, ["validate", "--no-guardrails"]),
        (root / "products", ["validate", "--no-guardrails"]),
        (root, ["--config", ".", "validate", "--no-guardrails"]),
    ]:
        monkeypatch.chdir(where)
        assert main(argv) == 0, (where, capsys.readouterr())
        assert "valid." in capsys.readouterr().out
    monkeypatch.chdir(root)
    assert load_config(tmp_path / "repo" / "config").state_dir == expected_state
    assert load_config(root.relative_to(root)).state_dir == expected_state  # `--config .`
    assert not (root / ".sellersync").exists()
