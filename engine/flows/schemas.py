"""`sync schema export` and the schema line of YAML files: the config's JSON Schemas where an
editor finds them, offline, when a seller's repository does not vendor `schemas/`.

The schemas ship inside the package (`engine/schemas`, the repository's `schemas/`). Their
`$id`s are the canonical bare file names ("products.schema.json"), and every cross-schema
`$ref` is relative ("definitions.schema.json#/definitions/amount", or "#/..." within one
file): a copy of the folder resolves on its own wherever it is, because a relative reference
resolves against the referring file's own location (RFC 3986 section 5; a relative `$id`
resolves the same way). The project has no public URL to host them at, so export is how
editors get them.

Editors find a YAML file's schema two ways, both from the YAML language server (VS Code's
YAML extension), https://github.com/redhat-developer/yaml-language-server#using-inlined-schema
and #more-examples-of-schema-association:

- a first line `# yaml-language-server: $schema=<path relative to the file>`, which
  `sync import` writes in every file it writes (`schema_line`), pointing into
  `editor_schema_dir`;
- `yaml.schemas` in `.vscode/settings.json` (schema path -> globs, relative to the
  workspace), which `sync schema export --vscode` writes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from engine.config.discovery import FOLDER_KINDS, TOP_LEVEL_KINDS
from engine.config.schema import SCHEMA_NAMES
from engine.core.errors import UserError
from engine.core.fileio import write_atomic

MODELINE = "# yaml-language-server: $schema="
# The plan file's schema is exported too: `sync plan --out` writes JSON an editor can check.
EXPORTED = (*SCHEMA_NAMES, "plan")
VENDORED_DIR = "schemas"  # a repository that vendors the schemas (this one: beside config/)
EXPORT_DIR = ".schemas"  # where `sync import` exports them otherwise (hidden: not config)
SETTINGS = Path(".vscode") / "settings.json"


def schema_file(kind: str) -> str:
    return f"{kind}.schema.json"


@dataclass(frozen=True, slots=True)
class Written:
    """One file export wrote or left: `status` is "wrote", "updated" or "unchanged"."""

    path: Path
    status: str


def packaged_schemas() -> dict[str, str]:
    """file name -> text of every exported schema, as the package carries it."""
    folder = resources.files("engine.schemas")
    return {
        schema_file(name): (folder / schema_file(name)).read_text(encoding="utf-8")
        for name in EXPORTED
    }


def export_schemas(target: Path) -> list[Written]:
    """Write the packaged schemas into `target` (created if missing), byte for byte: their
    relative `$ref`s resolve inside it. Files already equal are left untouched."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file; give a directory to export the schemas into")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in packaged_schemas().items():
        path = target / name
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old == text:
            written.append(Written(path, "unchanged"))
            continue
        write_atomic(path, text)
        written.append(Written(path, "wrote" if old is None else "updated"))
    return written


def editor_schema_dir(root: Path) -> tuple[Path, bool]:
    """The schema folder the YAML files of the config in `root` point at, and whether it is
    vendored (else `sync import` exports into it). Vendored: a `schemas/` holding the config
    schemas beside the config (this repository's layout) or inside it. Otherwise
    `<root>/.schemas/`, hidden so that the config loader skips it."""
    for candidate in (root.parent / VENDORED_DIR, root / VENDORED_DIR):
        if all((candidate / schema_file(k)).is_file() for k in SCHEMA_NAMES):
            return candidate, True
    return root / EXPORT_DIR, False


def ensure_editor_schemas(root: Path) -> tuple[Path, list[Written]]:
    """`editor_schema_dir(root)`, exported (or brought up to date) unless vendored."""
    folder, vendored = editor_schema_dir(root)
    return folder, ([] if vendored else export_schemas(folder))


def schema_line(kind: str, file: Path, schema_dir: Path) -> str:
    """The first line pointing the YAML file `file` at its kind's schema in `schema_dir`,
    relative to the file (POSIX separators, as the language server reads a URI)."""
    relative = os.path.relpath(schema_dir / schema_file(kind), file.parent)
    return MODELINE + Path(relative).as_posix()


def with_schema_line(text: str, line: str) -> str:
    """`text` starting with `line`, unless it already names a schema on its first line
    (the seller's own choice is kept)."""
    if text.startswith(MODELINE):
        return text
    return f"{line}\n{text}"


def kind_globs(config: str) -> dict[str, list[str]]:
    """schema file name -> the globs (relative to the workspace) of the config files of its
    kind, for the config directory `config` (relative to the workspace, POSIX)."""
    prefix = "" if config in ("", ".") else config.rstrip("/") + "/"
    globs: dict[str, list[str]] = {}
    for name, kind in TOP_LEVEL_KINDS.items():
        globs.setdefault(schema_file(kind), []).extend(
            f"{prefix}{name}.{ext}" for ext in ("yaml", "yml")
        )
    for folder, kind in FOLDER_KINDS.items():
        globs.setdefault(schema_file(kind), []).extend(
            f"{prefix}{folder}/*.{ext}" for ext in ("yaml", "yml")
        )
    return globs


def workspace_of(path: Path) -> Path:
    """The folder an editor opens to edit `path` (the config directory): its git
    repository's top, else the current directory."""
    start = path.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd().resolve()


def write_vscode_settings(
    workspace: Path, schema_dir: Path, config_dir: Path
) -> tuple[Path, dict[str, list[str]]]:
    """Set `yaml.schemas` in `<workspace>/.vscode/settings.json` so that every config file
    kind under `config_dir` maps to its schema in `schema_dir`; other settings, and schema
    mappings that are not ours, are kept. Returns the file and the mapping written."""
    workspace = workspace.resolve()
    settings_path = workspace / SETTINGS

    def relative(path: Path) -> str:
        """Workspace-relative, written "./x" (a bare "x" is not always read as relative:
        https://github.com/OpenAPITools/openapi-generator-cli/pull/515); outside the
        workspace, absolute."""
        resolved = path.resolve()
        if not resolved.is_relative_to(workspace):
            return resolved.as_posix()
        return "./" + resolved.relative_to(workspace).as_posix()

    config = relative(config_dir).removeprefix("./")
    mapping = {
        relative(schema_dir / name): globs
        for name, globs in kind_globs(config).items()
        if (schema_dir / name).is_file()
    }
    settings = _read_settings(settings_path, mapping)
    ours = set(packaged_schemas())
    kept = {
        key: value
        for key, value in settings.get("yaml.schemas", {}).items()
        if key.rsplit("/", 1)[-1] not in ours
    }
    settings["yaml.schemas"] = {**kept, **mapping}
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(settings_path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    return settings_path, mapping


def _read_settings(path: Path, mapping: dict[str, list[str]]) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        # VS Code accepts comments and trailing commas in settings.json; rewriting such a
        # file would lose them, so it is left alone and the lines to add are shown.
        raise UserError(
            f"{path} is not plain JSON ({err}), so it was left as it is; add this to it "
            f'yourself: "yaml.schemas": {json.dumps(mapping)}'
        ) from None
    if not isinstance(settings, dict) or not isinstance(settings.get("yaml.schemas", {}), dict):
        raise UserError(f'{path}: expected a JSON object with "yaml.schemas" an object')
    return settings
