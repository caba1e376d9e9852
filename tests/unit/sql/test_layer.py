"""ctt.sql is the lower layer: engines and the oracle import it, never the other way."""

from __future__ import annotations

import ast
from pathlib import Path

import ctt.sql

ALLOWED = ("ctt.sql", "ctt.config", "ctt.errors")


def test_sql_imports_only_config_and_errors_from_ctt() -> None:
    root = Path(ctt.sql.__file__).parent
    bad: list[str] = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            bad += [
                f"{path.name}: {n}"
                for n in names
                if (n == "ctt" or n.startswith("ctt.")) and not n.startswith(ALLOWED)
            ]
    assert bad == []
