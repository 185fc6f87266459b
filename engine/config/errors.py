"""Config errors carry file, line, column and the field path, and are reported all at once."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.errors import UserError


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


def format_path(path: tuple[str | int, ...]) -> str:
    """('products', 3, 'cost', 'amount') -> 'products[3].cost.amount'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class ConfigError:
    file: str
    position: Position | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.position:
            where += f":{self.position.line}:{self.position.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        pos = self.position or Position(0, 0)
        return (self.file, pos.line, pos.column, self.message)


class ConfigErrors(UserError):
    """Every problem found in one run, sorted by file and line."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = sorted(errors, key=ConfigError.sort_key)
        super().__init__(f"{len(self.errors)} config error(s)")

    def lines(self) -> list[str]:
        return [str(e) for e in self.errors] + [
            f"{len(self.errors)} error(s); nothing was written."
        ]
