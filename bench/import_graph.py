"""Measure the engine's import graph against its layering (docs/architecture.md).

    .venv/bin/python bench/import_graph.py          # counts
    .venv/bin/python bench/import_graph.py -v       # and every upward import

Prints the imports that point up the layers of pyproject.toml's import-linter contract
(lazy imports inside functions included), the import cycles between modules and between
layers, and the longest modules. tests/test_architecture.py holds the line at zero upward
imports; this script is for the figures (issue 16's before/after).
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return contract["layers"]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Kosaraju's two passes)."""
    nodes = set(edges) | {n for targets in edges.values() for n in targets}
    order: list[str] = []
    seen: set[str] = set()
    for start in sorted(nodes):
        stack = [(start, iter(sorted(edges.get(start, ()))))]
        if start in seen:
            continue
        seen.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                order.append(node)
                stack.pop()
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    reverse: dict[str, set[str]] = {}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    assigned: set[str] = set()
    found = []
    for root in reversed(order):
        if root in assigned:
            continue
        component, todo = [], [root]
        assigned.add(root)
        while todo:
            node = todo.pop()
            component.append(node)
            for parent in reverse.get(node, ()):
                if parent not in assigned:
                    assigned.add(parent)
                    todo.append(parent)
        if len(component) > 1:
            found.append(sorted(component))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every upward import")
    args = parser.parse_args()
    order = layers()

    def layer(module: str) -> int | None:
        parts = module.split(".")
        return order.index(parts[1]) if len(parts) > 1 and parts[1] in order else None

    graph = grimp.build_graph("engine")
    modules: dict[str, set[str]] = {}
    layered: dict[str, set[str]] = {}
    upward = []
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            modules.setdefault(importer, set()).add(imported)
            a, b = layer(importer), layer(imported)
            if a is not None and b is not None and a != b:
                layered.setdefault(order[a], set()).add(order[b])
                if b < a:
                    upward.append((importer, imported))
    print(f"modules: {len(graph.modules)}")
    print(f"upward imports: {len(upward)}")
    for importer, imported in sorted(upward) if args.verbose else ():
        print(f"  {importer} -> {imported}")
    for name, edges in (("module", modules), ("layer", layered)):
        found = cycles(edges)
        print(f"{name} cycles: {len(found)}", *found)
    sizes = sorted(
        (
            (len(p.read_text(encoding="utf-8").splitlines()), p.relative_to(ROOT).as_posix())
            for p in (ROOT / "engine").rglob("*.py")
        ),
        reverse=True,
    )
    print("longest modules:", ", ".join(f"{path} ({lines})" for lines, path in sizes[:3]))


if __name__ == "__main__":
    main()
