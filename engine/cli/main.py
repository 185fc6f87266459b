"""Entry point for `sync`, `sellersync` and `python -m engine`.

Each command is a small function that calls the engine and returns an exit code.
`main()` is the one error handler: a UserError becomes its message on stderr (exit 1,
or the error's own code); anything unexpected becomes a traceback saved to a log (exit 70).
Every code is in engine.core.exitcodes.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import click

from engine import __version__
from engine.cli.options import color_allowed, config_option, no_color_option
from engine.cli.registry import COMMANDS
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode


class LazyGroup(click.Group):
    """A group whose commands are imported when used, listed from engine.cli.registry."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"engine.cli.{COMMANDS[cmd_name][0]}")
        return next(command for command in module.COMMANDS if command.name == cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `sync --help`, from the registry's summaries (no imports)."""
        width = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=summary).get_short_help_str(width))
            for name, (_, summary) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sellersync")
@config_option
@no_color_option
@click.pass_context
def cli(ctx: click.Context, config_dir: Path, no_color: bool) -> None:
    """sellersync: Amazon listings, prices, stock and promotions managed as code."""
    color = color_allowed(no_color)
    if not color:
        ctx.color = False  # click.echo and click.style strip colour in every command
    if ctx.get_parameter_source("config_dir") is click.core.ParameterSource.DEFAULT:
        config_dir = located_config(config_dir)
    ctx.obj = {"config_dir": config_dir, "color": color}


def located_config(default: Path) -> Path:
    """Without --config: the config directory found by walking up from the working directory
    (engine.config.discovery.find_config_dir), else `default` (whose absence the loader
    reports)."""
    from engine.config.discovery import find_config_dir

    found = find_config_dir(Path.cwd(), default.name)
    return default if found is None else Path(os.path.relpath(found))


def crash_log_dir() -> Path:
    return Path(tempfile.gettempdir())


def main(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="sync", standalone_mode=False)
    except UserError as err:
        for line in err.lines():
            click.echo(f"Error: {line}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return ExitCode.USER_ERROR
    except click.ClickException as err:
        err.show()
        return ExitCode.USER_ERROR if err.exit_code == 2 else err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return ExitCode.INTERRUPTED
    except Exception:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        log = crash_log_dir() / f"sellersync-crash-{stamp}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        click.echo(
            f"Internal error: {sys.exc_info()[1]!r}. Traceback saved to {log}; "
            "please attach it to a bug report.",
            err=True,
        )
        return ExitCode.INTERNAL_ERROR
    return result if isinstance(result, int) else ExitCode.OK
