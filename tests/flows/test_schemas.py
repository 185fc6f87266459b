"""`sync schema export DIR [--vscode]` and the schema line `sync import` writes: exported
schemas resolve their refs from the files alone (checked with jsonschema and a registry that
only reads files), and every line import writes points at a schema that exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from engine.cli.main import main
from engine.config import load_config
from engine.config.discovery import discover
from engine.config.yamlsafe import read_source
from engine.flows.import_listings import import_listings
from engine.flows.schemas import (
    EXPORTED,
    MODELINE,
    editor_schema_dir,
    export_schemas,
    packaged_schemas,
    schema_line,
    with_schema_line,
)
from engine.flows.session import live_session
from tests.conftest import NOW
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "config"


class FileRegistry:
    """A referencing registry that knows nothing and reads each schema from its file:// URI,
    as an editor does: only refs that resolve relative to the files on disk work."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.registry = Registry(retrieve=self.retrieve)

    def retrieve(self, uri: str) -> Resource:
        assert uri.startswith("file://"), f"{uri} does not resolve to a file"
        self.read.append(uri)
        contents = json.loads(Path(uri.removeprefix("file://")).read_text(encoding="utf-8"))
        return Resource.from_contents(contents, default_specification=DRAFT7)

    def errors(self, schema_path: Path, data: Any) -> list[str]:
        validator = jsonschema.Draft7Validator(
            {"$ref": schema_path.resolve().as_uri()}, registry=self.registry
        )
        return [e.message for e in validator.iter_errors(data)]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


@pytest.mark.parametrize("name", sorted(packaged_schemas()))
def test_ids_are_the_file_names_and_every_ref_is_relative_to_the_file(name):
    schema = json.loads(packaged_schemas()[name])
    assert schema["$id"] == name
    for ref in refs(schema):
        target, _, pointer = ref.partition("#")
        assert target in ("", *packaged_schemas()), ref  # a sibling file, or this one
        assert "/" not in target and ":" not in target, ref
        assert pointer.startswith("/"), ref


def test_export_writes_each_schema_byte_for_byte_then_only_what_changed(tmp_path):
    target = tmp_path / "editor" / "schemas"
    first = export_schemas(target)
    assert [w.path.name for w in first] == [f"{n}.schema.json" for n in EXPORTED]
    assert {w.status for w in first} == {"wrote"}
    for name, text in packaged_schemas().items():
        assert (target / name).read_text(encoding="utf-8") == text
    (target / "fx.schema.json").write_text("{}", encoding="utf-8")
    again = {w.path.name: w.status for w in export_schemas(target)}
    assert again.pop("fx.schema.json") == "updated"
    assert set(again.values()) == {"unchanged"}


def test_the_exported_schemas_validate_the_example_config_from_the_files_alone(tmp_path):
    target = tmp_path / "exported"
    export_schemas(target)
    files, problems = discover(DEMO_CONFIG)
    assert files and not problems
    registry = FileRegistry()
    for path, kind in files:
        data = read_source(path, str(path)).data
        assert registry.errors(target / f"{kind}.schema.json", data) == [], path
    # The cross-schema refs were resolved by reading the exported definitions file.
    assert (target / "definitions.schema.json").resolve().as_uri() in registry.read

    # And they check something: a bad amount is caught through a ref into definitions.
    broken = {"products": [{"sku": "X", "base_price": "cheap"}]}
    assert any("cheap" in e for e in registry.errors(target / "products.schema.json", broken))


def test_export_cli_prints_what_it_wrote(tmp_path, capsys):
    target = tmp_path / "out"
    assert main(["schema", "export", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"wrote     {target / f'{n}.schema.json'}" for n in EXPORTED]
    assert not (tmp_path / ".vscode").exists()
    assert main(["schema", "export", str(target)]) == 0
    assert capsys.readouterr().out.count("unchanged ") == len(EXPORTED)


def test_export_vscode_maps_each_kind_and_keeps_other_settings(tmp_path, capsys):
    repo = tmp_path / "seller"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(DEMO_CONFIG, repo / "config", ignore=shutil.ignore_patterns(".*"))
    settings = repo / ".vscode" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(
        json.dumps(
            {
                "editor.tabSize": 2,
                "yaml.schemas": {
                    "./old/products.schema.json": ["config/products/*.yaml"],
                    "./ci.schema.json": [".github/*.yml"],
                },
            }
        ),
        encoding="utf-8",
    )
    target = repo / ".schemas"
    code = main(["--config", str(repo / "config"), "schema", "export", str(target), "--vscode"])
    assert code == 0
    assert f"wrote     {settings}: yaml.schemas maps 9 schema(s)" in capsys.readouterr().out
    written = json.loads(settings.read_text(encoding="utf-8"))
    assert written["editor.tabSize"] == 2
    mapping = written["yaml.schemas"]
    assert mapping["./ci.schema.json"] == [".github/*.yml"]  # not ours: kept
    assert "./old/products.schema.json" not in mapping  # ours, moved
    assert "config/products/*.yaml" in mapping["./.schemas/products.schema.json"]
    assert "config/marketplaces/*.yaml" in mapping["./.schemas/marketplace.schema.json"]
    assert mapping["./.schemas/project.schema.json"] == [
        "config/project.yaml",
        "config/project.yml",
    ]
    for key in set(mapping) - {"./ci.schema.json"}:  # ours resolve from the workspace
        assert (repo / key).is_file(), key
    assert "./.schemas/definitions.schema.json" not in mapping  # no file kind of its own


def test_export_vscode_leaves_settings_with_comments_alone(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, config, ignore=shutil.ignore_patterns(".*"))
    (tmp_path / ".git").mkdir()
    settings = tmp_path / ".vscode" / "settings.json"
    settings.parent.mkdir()
    text = '{\n  // mine\n  "editor.tabSize": 2,\n}\n'
    settings.write_text(text, encoding="utf-8")
    code = main(["--config", str(config), "schema", "export", str(tmp_path / "s"), "--vscode"])
    assert code == 1
    assert settings.read_text(encoding="utf-8") == text


def test_schema_line_is_relative_to_the_file_and_an_existing_one_is_kept(tmp_path):
    line = schema_line("products", tmp_path / "config/products/a.yaml", tmp_path / "schemas")
    assert line == MODELINE + "../../schemas/products.schema.json"
    own = MODELINE + "https://example.com/p.json\nproducts: []\n"
    assert with_schema_line(own, line) == own
    assert with_schema_line("products: []\n", line) == f"{line}\nproducts: []\n"


def test_the_vendored_schemas_are_preferred(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    assert editor_schema_dir(config) == (config / ".schemas", False)
    export_schemas(tmp_path / "schemas")
    assert editor_schema_dir(config) == (tmp_path / "schemas", True)
    assert editor_schema_dir(DEMO_CONFIG) == (REPO / "schemas", True)


def imported(config):
    with live_session(config) as (backend, _):
        live = backend.read_listings(["US"], refresh=True).resources()
    return import_listings(config, live, "US", "*", NOW)


def check_schema_lines(root: Path, result) -> None:
    """Each file import wrote starts with a schema line whose path resolves, relative to the
    file, to the schema of its kind, which validates the file (refs read from files)."""
    assert result.written
    registry = FileRegistry()
    for relative in result.written:
        path = root / relative
        first, _, _ = path.read_text(encoding="utf-8").partition("\n")
        assert first.startswith(MODELINE), path
        schema = (path.parent / first.removeprefix(MODELINE)).resolve()
        kind = {"products": "products", "marketplaces": "marketplace", "sales": "sales"}
        assert schema.name == f"{kind[relative.parts[0]]}.schema.json"
        assert schema.is_file(), schema
        assert registry.errors(schema, read_source(path, str(path)).data) == []


def test_import_writes_schema_lines_into_an_exported_schema_dir(seeded_config, capsys):
    config = seeded_config()
    result = imported(config)
    assert result.schema_dir == config.root / ".schemas"
    assert {p.name for p in result.schemas} == set(packaged_schemas())
    check_schema_lines(config.root, result)
    assert load_config(config.root).products["LEGACY-HP-100"]  # the config still loads


def test_import_points_at_vendored_schemas_and_exports_nothing(seeded_config):
    config = seeded_config()
    shutil.copytree(REPO / "schemas", config.root.parent / "schemas")
    result = imported(config)
    assert result.schema_dir == config.root.parent / "schemas" and result.schemas == ()
    assert not (config.root / ".schemas").exists()
    check_schema_lines(config.root, result)
    text = (config.root / "products" / "imported-US.yaml").read_text(encoding="utf-8")
    assert text.startswith(MODELINE + "../../schemas/products.schema.json\n")


def test_import_cli_says_where_the_schema_lines_point(seeded_config, capsys):
    config = seeded_config()
    assert main(["--config", str(config.root), "import", "-m", "US"]) == 0
    out = capsys.readouterr().out
    assert f"schema lines point into {config.root / '.schemas'} (exported 11 file(s))" in out
