"""Central warehouse stock from a CSV export (the data source named in project.yaml).

Stock levels change by the hour, so they are not kept in git; the warehouse system
exports them and the config only names the file and its columns.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from engine.config.errors import ConfigError, Position
from engine.config.model import StockSource


def read_central_stock(
    source: StockSource, display_name: str, hasher: Any | None = None
) -> tuple[dict[str, int], list[ConfigError]]:
    """Units on hand by SKU, and every problem found (each with its line)."""
    errors: list[ConfigError] = []

    def fail(line: int, field: str, message: str) -> None:
        errors.append(
            ConfigError(display_name, Position(line, 1) if line else None, field, message)
        )

    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        errors.append(
            source.origin.error(f"stock file {display_name} cannot be read: {exc.strerror}")
        )
        return {}, errors
    if hasher is not None:
        hasher.update(b"stock\0" + raw + b"\0")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        fail(line, "", "file is not valid UTF-8; export it as UTF-8")
        return {}, errors
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if not header:
        wanted = f"{source.sku_column!r} and {source.quantity_column!r}"
        fail(1, "", f"file is empty; expected a header row naming the columns {wanted}")
        return {}, errors
    for column in (source.sku_column, source.quantity_column):
        if column not in header:
            fail(1, column, f"column {column!r} not found; header has: {', '.join(header)}")
    if errors:
        return {}, errors
    stock: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        sku = (row.get(source.sku_column) or "").strip()
        raw_qty = (row.get(source.quantity_column) or "").strip()
        if not sku:
            fail(line, source.sku_column, "empty SKU")
            continue
        try:
            quantity = int(raw_qty)
        except ValueError:
            fail(line, source.quantity_column, f"{raw_qty!r} is not a whole number of units")
            continue
        if quantity < 0:
            fail(line, source.quantity_column, f"negative stock {quantity} for {sku}")
            continue
        if sku in stock:
            fail(line, source.sku_column, f"SKU {sku} already listed on line {first_line[sku]}")
            continue
        stock[sku] = quantity
        first_line[sku] = line
    return stock, errors
