"""Generate the field reference in docs/config.md from the JSON Schemas.

The schemas are the source of truth; the reference between the markers in docs/config.md
is rebuilt from them (`python -m engine.config.docs docs/config.md`) and a test fails when
the two drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from engine.config.schema import SCHEMA_NAMES, iter_documented_properties, load_schemas

BEGIN = "<!-- BEGIN GENERATED REFERENCE: python -m engine.config.docs docs/config.md -->"
END = "<!-- END GENERATED REFERENCE -->"


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].split("/")[-1]
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type_of(schema['items'])}"
    return kind or "see description"


def _description(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    text = schema.get("description")
    if not text and "$ref" in schema:
        text = definitions.get(schema["$ref"].split("/")[-1], {}).get("description", "")
    return (text or "").replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    """The generated Markdown reference: one table per schema, one row per property."""
    schemas = load_schemas()
    definitions = schemas["definitions.schema.json"]["definitions"]
    out: list[str] = []
    for name in SCHEMA_NAMES:
        schema = schemas[f"{name}.schema.json"]
        out.append(f"### {schema['title']} (`schemas/{name}.schema.json`)\n")
        out.append(f"{schema['description']}\n")
        if name == "definitions":
            out.append("| type | description |")
            out.append("|---|---|")
            for def_name, sub in definitions.items():
                out.append(f"| `{def_name}` | {_description(sub, definitions)} |")
            out.append("")
            for def_name, sub in definitions.items():
                rows = list(iter_documented_properties(sub))
                if rows:
                    out.append(f"Fields of `{def_name}`:\n")
                    out.append("| field | type | description |")
                    out.append("|---|---|---|")
                    for path, prop in rows:
                        out.append(
                            f"| `{path}` | {_type_of(prop)} | {_description(prop, definitions)} |"
                        )
                    out.append("")
            continue
        required = set(schema.get("required", ()))
        out.append("| field | type | description |")
        out.append("|---|---|---|")
        for path, prop in iter_documented_properties(schema):
            mark = " (required)" if path in required else ""
            out.append(f"| `{path}`{mark} | {_type_of(prop)} | {_description(prop, definitions)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def splice(document: str) -> str:
    """`document` with the text between the markers replaced by a fresh reference."""
    try:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"markers not found; the document needs {BEGIN!r} and {END!r}") from None
    return f"{head}{BEGIN}\n\n{reference()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m engine.config.docs docs/config.md", file=sys.stderr)
        return 1
    path = Path(argv[0])
    path.write_text(splice(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
