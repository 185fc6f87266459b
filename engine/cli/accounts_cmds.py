"""`sync accounts`: the seller accounts in this repository, for people and for CI matrices."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from engine.cli.options import console as rich_console
from engine.config.accounts import Account, discover_accounts


@click.command(name="accounts")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Search this directory and below for account directories (holding project.yaml).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One line of JSON: a list of accounts for a GitHub Actions matrix (fromJSON).",
)
def accounts_cmd(root: Path, as_json: bool) -> int:
    """List the seller accounts: name, seller id, marketplaces, backend, state backend."""
    accounts = discover_accounts(root)
    if as_json:
        # One line, so that CI can write it to $GITHUB_OUTPUT as `matrix=<json>`.
        click.echo(json.dumps([a.matrix_entry() for a in accounts], separators=(",", ":")))
    else:
        print_accounts(accounts)
    return 0


def print_accounts(accounts: list[Account]) -> None:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("account", "seller id", "marketplaces", "backend", "state", "config"):
        table.add_column(column, no_wrap=True)
    for account in accounts:
        entry = account.matrix_entry()
        table.add_row(
            entry["name"],
            entry["seller_id"],
            " ".join(entry["marketplaces"]),
            entry["backend"],
            entry["state_backend"],
            entry["config_dir"],
        )
    console = rich_console(width=200)
    console.print(table)
    console.print(f"\n{len(accounts)} account(s).", markup=False)


COMMANDS = [accounts_cmd]
