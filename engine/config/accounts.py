"""Several seller accounts in one repository: one config directory each.

An agency keeps `accounts/<name>/project.yaml ...` (or a single `config/`); CI runs one job per
account in a GitHub Actions matrix, so listing the accounts must be cheap (only each
`project.yaml` is read, never a catalog) and its order stable (sorted paths), so that a matrix
does not reshuffle between runs.

State, locks and the journal are keyed by seller id (engine/state), and CI serialises applies
per seller id. Two directories for one seller would therefore share one lock and one
last-applied record while describing two different desired states, each apply undoing the
other: that is an error naming both directories.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.errors import ConfigError, ConfigErrors
from engine.config.loader import load_project
from engine.config.model import Project
from engine.core.errors import UserError

PROJECT_FILE = "project.yaml"


class DuplicateSellerError(UserError):
    """Two account directories configure the same seller id."""

    def __init__(self, clashes: list[tuple[str, Path, Path]]):
        self.clashes = clashes
        super().__init__(f"{len(clashes)} seller id(s) configured twice")

    def lines(self) -> list[str]:
        return [
            f"seller {seller} is configured in both {first} and {second}; state and the apply "
            "lock are per seller, so keep one config directory per seller"
            for seller, first, second in self.clashes
        ]


@dataclass(frozen=True, slots=True)
class Account:
    """One seller account: its config directory and what its project.yaml says."""

    name: str  # the directory relative to the search root, e.g. "accounts/acme"
    config_dir: Path
    project: Project

    def matrix_entry(self) -> dict[str, Any]:
        """One job of the CI matrix. `seller_id` is the concurrency key: stable across renames
        of the directory, and the key the state store locks on."""
        project = self.project
        return {
            "name": self.name,
            "config_dir": self.config_dir.as_posix(),
            "seller_id": project.seller_id,
            "seller_name": project.seller_name,
            "marketplaces": list(project.marketplaces),
            "backend": project.backend.kind,
            "state_backend": project.state.backend,
        }


def find_account_dirs(root: Path) -> list[Path]:
    """Directories under `root` (itself included) that hold project.yaml, sorted. A config
    directory's own subfolders (products/, marketplaces/) are not searched, and neither are
    hidden directories (.git, .venv, the state directory)."""
    found: list[Path] = []
    for folder, subdirs, files in os.walk(root):
        if PROJECT_FILE in files:
            found.append(Path(folder))
            subdirs.clear()
        else:
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
    return sorted(found)


def discover_accounts(root: Path, env: Mapping[str, str] | None = None) -> list[Account]:
    """Every account under `root`. Raises ConfigErrors with the problems of every account
    whose project.yaml is invalid, or DuplicateSellerError."""
    if not root.is_dir():
        raise UserError(f"{root}: no such directory")
    dirs = find_account_dirs(root)
    if not dirs:
        raise UserError(
            f"no account under {root}: an account is a directory holding {PROJECT_FILE}"
        )
    accounts: list[Account] = []
    errors: list[ConfigError] = []
    for folder in dirs:
        try:
            project = load_project(folder, env)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        name = folder.relative_to(root).as_posix()
        accounts.append(Account(root.resolve().name if name == "." else name, folder, project))
    if errors:
        raise ConfigErrors(errors)
    _check_unique_sellers(accounts)
    return accounts


def _check_unique_sellers(accounts: list[Account]) -> None:
    first: dict[str, Account] = {}
    clashes: list[tuple[str, Path, Path]] = []
    for account in accounts:
        seller = account.project.seller_id
        if seller in first:
            clashes.append((seller, first[seller].config_dir, account.config_dir))
        else:
            first[seller] = account
    if clashes:
        raise DuplicateSellerError(clashes)
