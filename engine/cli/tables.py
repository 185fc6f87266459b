"""Text tables for people, drawn by rich: columns sized to their contents, no borders.

The one table helper of the CLI (`sync orders list`, `sync health`, `sync inventory ...`,
`sync status`, `sync sandbox simulate`). Machine formats (--json, CSV) and the plan's
Terraform-like text do not go through it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from engine.cli.options import console

WIDTH = 200  # wide enough that a pipe or a CI log gets one line per row, never wrapped


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    right: Collection[str] = (),
    indent: int = 0,
) -> None:
    """Print `rows` under `headers` (None shows empty); the columns named in `right` are
    right-aligned (numbers), the table is indented by `indent` spaces."""
    from rich.padding import Padding
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for header in headers:
        table.add_column(header, justify="right" if header in right else "left")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console(width=WIDTH).print(Padding(table, (0, 0, 0, indent), expand=False) if indent else table)
