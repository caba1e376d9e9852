"""A temporary copy of a spec's layout, so a mutant runs exactly as the user's edited file would.

The copy keeps the spec's path relative to its repository (the directory holding
``flink/sql/``, else the working directory), the ``__snapshots__`` directory beside it and
the ``flink/sql/`` templates, so templates and snapshots resolve the same way in the copy.
Nothing the run writes can touch the user's files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from ctt.config.yaml_source import safe_load
from ctt.expect.queries import resolve
from ctt.mutate.models import Mutant
from ctt.sql.render import find_sql_root

__all__ = ["Layout", "Workspace"]

SNAPSHOTS = "__snapshots__"


class Layout(BaseModel):
    """What to copy for one spec, and where it goes relative to the copy's root."""

    spec: Path  # absolute
    root: Path  # absolute: the user's repository root for this spec
    sql_root: Path | None  # the user's flink/sql directory, when there is one above the spec
    queries: list[Path] = Field(default_factory=list)  # sql_assertions files, absolute

    @classmethod
    def of(cls, spec: Path) -> Layout:
        spec = spec.resolve()
        sql_root = find_sql_root(spec.parent)
        if sql_root is not None:
            root = sql_root.parent.parent
        elif spec.is_relative_to(Path.cwd().resolve()):
            root = Path.cwd().resolve()
        else:
            root = spec.parent
        queries = [q.resolve() for q in _query_files(spec)]
        queries = [q for q in queries if q.is_relative_to(root)]
        return cls(spec=spec, root=root, sql_root=sql_root, queries=queries)

    @property
    def rel_spec(self) -> Path:
        return self.spec.relative_to(self.root)


def _query_files(spec: Path) -> list[Path]:
    """The files a spec names: assertion queries (``sql_assertions`` items with ``file:``) and
    Table API programs (``table_api: {program: ...}``, relative to the spec)."""
    try:
        data = safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    names: list[str] = []
    programs: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "table_api" and isinstance(value, dict) and "program" in value:
                    programs.append(spec.parent / str(value["program"]))
                if key == "sql_assertions":
                    items = value if isinstance(value, list) else [value]
                    names.extend(
                        str(i["file"]) for i in items if isinstance(i, dict) and "file" in i
                    )
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    found = (resolve(name, spec) for name in dict.fromkeys(names))
    return [p for p in found if p is not None] + [p for p in dict.fromkeys(programs) if p.is_file()]


class Workspace:
    """One temporary directory holding a copy of the layout, with at most one mutant applied."""

    def __init__(
        self, layout: Layout, mutant: Mutant | None, *, prefix: str = "ctt-mutate-"
    ) -> None:
        self.layout = layout
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.spec = self.dir / layout.rel_spec
        self.spec.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(layout.spec, self.spec)
        snapshots = layout.spec.parent / SNAPSHOTS
        if snapshots.is_dir():
            shutil.copytree(snapshots, self.spec.parent / SNAPSHOTS)
        if layout.sql_root is not None:
            shutil.copytree(layout.sql_root, self.dir / layout.sql_root.relative_to(layout.root))
        for query in layout.queries:  # `sql_assertions: [{file: ...}]` resolve as for the user
            copy = self.dir / query.relative_to(layout.root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(query, copy)
        if mutant is not None:
            target = self._copy_of(Path(mutant.file))
            target.write_text(mutant.text, encoding="utf-8")
        self.results = self.dir / ".ctt-mutate" / "results.json"
        self.junit = self.dir / ".ctt-mutate" / "junit.xml"
        self.stdout = self.dir / ".ctt-mutate" / "stdout.log"
        self.stderr = self.dir / ".ctt-mutate" / "stderr.log"
        self.results.parent.mkdir(parents=True, exist_ok=True)

    def _copy_of(self, user_file: Path) -> Path:
        """Where the copy of one of the user's files (the spec or a template) lives."""
        resolved = user_file.resolve()
        if resolved == self.layout.spec:
            return self.spec
        if resolved.is_relative_to(self.layout.root):
            return self.dir / resolved.relative_to(self.layout.root)
        raise ValueError(f"{user_file} is outside the copied layout of {self.layout.spec}")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
