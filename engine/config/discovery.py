"""Which files of a config directory are config, and of which kind (the schema that checks them).

Layout of a config directory:

    project.yaml              seller, marketplaces, backend, defaults   (required)
    fx.yaml                   exchange rates                            (required)
    products/*.yaml           the catalog (or a single products.yaml)
    marketplaces/<CODE>.yaml  one per marketplace (optional: defaults apply)
    sales.yaml | sales/*.yaml, promotions..., approvals..., incidents...
    warehouses.yaml           warehouses for order routing              (optional)

Any other YAML file is an error rather than ignored: a misspelt folder (`product/`) would
otherwise drop part of the catalog silently. Hidden files and folders are skipped.
"""

from __future__ import annotations

from pathlib import Path

from engine.config.errors import ConfigError

# (top-level file name without .yaml) -> kind of file (its schema name)
TOP_LEVEL_KINDS = {
    "project": "project",
    "fx": "fx",
    "products": "products",
    "sales": "sales",
    "promotions": "promotions",
    "approvals": "approvals",
    "incidents": "incidents",
    "warehouses": "warehouses",
}
# (folder) -> kind of every file in it
FOLDER_KINDS = {
    "products": "products",
    "marketplaces": "marketplace",
    "sales": "sales",
    "promotions": "promotions",
    "approvals": "approvals",
    "incidents": "incidents",
}
REQUIRED_FILES = ("project", "fx")
LAYOUT_HINT = (
    "expected project.yaml, fx.yaml, products/*.yaml, marketplaces/<CODE>.yaml, "
    "sales, promotions, approvals or incidents (.yaml or folder)"
)


DEFAULT_STATE_DIR = ".sellersync"


def state_folder(root: Path, name: str = DEFAULT_STATE_DIR) -> Path:
    """The state folder of the config directory `root`: `name` beside it. `root` is resolved
    to its real path first, so one config always has one state folder (its sandbox, journal
    and lock) however it is named: `--config .` from inside it, a relative path, a symlink."""
    return Path(root).resolve().parent / name


def find_config_dir(start: Path, name: str = "config") -> Path | None:
    """The config directory a command run in `start` means, found as git finds its
    repository: walking up from `start`, the first folder that holds project.yaml (the run
    is inside the config) or a `name` folder holding it (the run is beside it). None when
    neither is found up to the filesystem root."""
    for folder in (start, *start.parents):
        if (folder / "project.yaml").is_file():
            return folder
        if (folder / name / "project.yaml").is_file():
            return folder / name
    return None


def display_name(path: Path) -> str:
    """How errors name a file: its path as the config root was given."""
    return str(path)


def kind_of(rel: Path) -> str | None:
    """The kind of the file at `rel` (relative to the config root), None if it is not one."""
    if len(rel.parts) == 1:
        return TOP_LEVEL_KINDS.get(rel.stem)
    if len(rel.parts) == 2:
        return FOLDER_KINDS.get(rel.parts[0])
    return None


def discover(root: Path) -> tuple[list[tuple[Path, str]], list[ConfigError]]:
    """The config files under `root` with their kinds, in path order, and an error for
    every YAML file that fits no kind."""
    found: list[tuple[Path, str]] = []
    errors: list[ConfigError] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        kind = kind_of(rel)
        if kind is None:
            errors.append(
                ConfigError(display_name(path), None, "", f"unknown config file; {LAYOUT_HINT}")
            )
            continue
        found.append((path, kind))
    return found, errors


def missing_required(root: Path, files: list[tuple[Path, str]]) -> list[ConfigError]:
    """An error for each required top-level file `files` lacks."""
    return [
        ConfigError(display_name(root / f"{required}.yaml"), None, "", "required file is missing")
        for required in REQUIRED_FILES
        if not any(p.name == f"{required}.yaml" and p.parent == root for p, _ in files)
    ]
