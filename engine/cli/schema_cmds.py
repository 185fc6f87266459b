"""`sync schema export DIR`: the config's JSON Schemas, for editors (engine.flows.schemas)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="schema")
def schema_cmd() -> None:
    """Export the JSON Schemas the config is validated against, for editors."""


@schema_cmd.command(name="export")
@click.argument("directory", type=click.Path(path_type=Path), metavar="DIR")
@click.option(
    "--vscode",
    is_flag=True,
    help="Also map each config file kind to its schema in DIR (yaml.schemas) in the "
    "workspace's .vscode/settings.json (the config's git repository's top, else the "
    "current directory), keeping its other settings.",
)
@click.pass_context
def export_cmd(ctx: click.Context, directory: Path, vscode: bool) -> int:
    """Write the config's JSON Schemas (and the plan file's) into DIR; their $refs are
    relative, so the copy resolves offline."""
    from engine.flows.schemas import export_schemas, workspace_of, write_vscode_settings

    for written in export_schemas(directory):
        click.echo(f"{written.status:<9} {written.path}")
    if vscode:
        config_dir = Path(ctx.obj["config_dir"])
        settings, mapping = write_vscode_settings(workspace_of(config_dir), directory, config_dir)
        click.echo(
            f"wrote     {settings}: yaml.schemas maps {len(mapping)} schema(s) to the files "
            f"of {config_dir}"
        )
    return 0


COMMANDS = [schema_cmd]
