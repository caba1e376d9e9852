"""The layers of ``ctt/``, read from its imports: the check behind tests/unit/test_architecture.py
and the generator of the package table in docs/architecture.md.

    uv run python scripts/architecture.py          # print violations, exit 1 if any
    uv run python scripts/architecture.py --write  # regenerate docs/architecture.md's table

Dependencies point one way: ``cli -> commands -> (flinktest | ci | datagen | stack) -> (engines,
kafka, sql, oracle, expect, validate, infra, report) -> config -> errors``. A package may import a
package of a lower layer, and a package of its own layer only where ``SIDEWAYS`` says so (the
sideways arrows must stay acyclic). Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ctt"
DOC = ROOT / "docs" / "architecture.md"

LAYERS: dict[str, int] = {
    "__main__": 7,
    "cli": 6,
    "commands": 5,
    "flinktest": 4,
    "ci": 4,
    "datagen": 4,
    "mutate": 4,
    "stack": 4,
    "lint": 4,
    "validate": 3,
    "engines": 3,
    "oracle": 3,
    "expect": 3,
    "tableapi": 3,
    "sink": 3,
    "observed": 2,
    "kafka": 2,
    "sql": 2,
    "infra": 2,
    "report": 2,
    "config": 1,
    "errors": 0,
    "console": 0,
    "polling": 0,
    "tls": 0,
    "__init__": 0,
}
LAYER_NAMES = {
    7: "entry",
    6: "cli",
    5: "commands",
    4: "domains",
    3: "engines, expectations, checks",
    2: "building blocks",
    1: "config",
    0: "base",
}
# Same-layer arrows that are allowed (each one stated, and together acyclic).
SIDEWAYS: set[tuple[str, str]] = {
    ("flinktest", "datagen"),  # the runner generates its input
    ("flinktest", "stack"),  # the local engine's settings come from the stack state
    ("datagen", "stack"),
    ("expect", "oracle"),  # the oracle is one source of expected rows
    ("validate", "expect"),  # snapshot_match and sql_assertions read what expect records
    ("validate", "oracle"),  # sql_assertions query the oracle's ground-truth tables
    ("console", "errors"),  # the console prints errors
    ("ci", "mutate"),  # the mutation_score gate reads ctt mutate's report model
    ("validate", "sink"),  # the sink checks flatten ROW fields as the envelope declares them
    ("lint", "flinktest"),  # lint maps positions as the runner does (sql_setup.sql_source)
}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").exists()


def module_cycles() -> list[list[str]]:
    """Import cycles between modules (a function-level import hiding one counts too)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        mod = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                # a module importing its own package's __init__ is no cycle
                own_package = mod.startswith(name + ".")
                if name.startswith("ctt.") and _is_module(name) and name != mod and not own_package:
                    graph[mod].add(name)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def imports() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the files and lines where the arrow is drawn."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        src = package_of(".".join(rel.with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "ctt":  # `from ctt import x`: a submodule, or __init__'s name
                    targets = [
                        f"ctt.{a.name}" if _is_module(f"ctt.{a.name}") else "ctt.__init__"
                        for a in node.names
                    ]
                elif node.module.startswith("ctt."):
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("ctt.")]
            for target in targets:
                dst = package_of(target)
                if dst != src:
                    arrows[(src, dst)].append(f"{rel}:{node.lineno}")
    return arrows


def violations(arrows: dict[tuple[str, str], list[str]]) -> list[str]:
    out = []
    for (src, dst), where in sorted(arrows.items()):
        if src not in LAYERS or dst not in LAYERS:
            out.append(f"{where[0]}: package {src if src not in LAYERS else dst!r} has no layer")
            continue
        if LAYERS[dst] > LAYERS[src] or (LAYERS[dst] == LAYERS[src] and (src, dst) not in SIDEWAYS):
            out.append(f"{where[0]}: {src} -> {dst} runs back up ({len(where)} import(s))")
    return out


def table(arrows: dict[tuple[str, str], list[str]]) -> str:
    uses: dict[str, set[str]] = defaultdict(set)
    for src, dst in arrows:
        uses[src].add(dst)
    rows = ["| layer | package | imports |", "|---|---|---|"]
    for pkg in sorted(LAYERS, key=lambda p: (-LAYERS[p], p)):
        if (PACKAGE / pkg).is_dir() or (PACKAGE / f"{pkg}.py").exists():
            deps = ", ".join(sorted(uses[pkg], key=lambda p: (-LAYERS.get(p, 0), p))) or "-"
            rows.append(f"| {LAYER_NAMES[LAYERS[pkg]]} | `{pkg}` | {deps} |")
    return "\n".join(rows)


BEGIN, END = "<!-- layers:begin (scripts/architecture.py --write) -->", "<!-- layers:end -->"


def doc_with_table(doc: str, arrows: dict[tuple[str, str], list[str]]) -> str:
    block = f"{BEGIN}\n{table(arrows)}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), flags=re.S)
    return (
        pattern.sub(lambda _m: block, doc)
        if pattern.search(doc)
        else f"{doc.rstrip()}\n\n{block}\n"
    )


def main() -> int:
    arrows = imports()
    if "--write" in sys.argv:
        DOC.write_text(doc_with_table(DOC.read_text(encoding="utf-8"), arrows), encoding="utf-8")
    bad = violations(arrows) + [" -> ".join(c) + ": import cycle" for c in module_cycles()]
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
