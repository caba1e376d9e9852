"""Where a spec's SQL and watermarks are written, and mutants placed in the file the user edits.

A mutant must be the edit a user would make, so it is applied to the text where it is
written: a ``flink_sql: |`` block (SQL line i is file line key+1+i, shifted by the block's
indentation), a YAML anchor shared by several tests (mutated once, at the anchor), a
``sql_template`` file under ``flink/sql/``, or a table's ``watermark:`` scalar. Every
mutated spec is parsed again and must hold exactly the mutated SQL at the same place, so a
position mapping that goes wrong drops the mutant instead of running something else.
"""

from __future__ import annotations

import bisect
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ctt.config.spec import LoadedTest
from ctt.config.yaml_source import FastLoader
from ctt.errors import ConfigError
from ctt.mutate.models import Mutant, Target
from ctt.mutate.operators import OPERATORS
from ctt.sql.lexer import line_col, tokenize
from ctt.sql.render import find_sql_root
from ctt.validate.registry import load_spec

__all__ = ["Source", "SpecSources", "display_path", "enumerate_mutants", "load_sources"]

KeyPath = tuple[str, ...]


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it: what the user typed."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Source:
    """One piece of text an operator reads, and how its offsets map into the user's file."""

    target: Target
    file: Path  # the spec, or the template for sql_template
    key: KeyPath | None  # where the scalar is in the spec (None: a template file)
    text: str  # the SQL or watermark expression, as the user wrote it
    file_text: str
    line_starts: list[int]  # file offset of each line of ``text``
    line_ends: list[int]  # file offset of the end of each such line
    newline: str  # what a newline inside ``text`` is in the file ("\n" + block indentation)
    tests: list[str] = field(default_factory=list)
    text_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.text_starts = _starts(self.text)

    def to_file(self, offset: int) -> int:
        """The file offset of ``offset`` in ``text`` (clamped to its line)."""
        i = bisect.bisect_right(self.text_starts, offset) - 1
        return min(self.line_starts[i] + offset - self.text_starts[i], self.line_ends[i])


def _starts(text: str) -> list[int]:
    out = [0]
    pos = text.find("\n")
    while pos != -1:
        out.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return out


@dataclass
class SpecSources:
    spec: Path
    tests: list[LoadedTest]
    sources: list[Source]
    notes: list[str]  # what could not be mutated, and why


def _mapping(loader: Any, node: Any) -> dict[str, Any]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    loader.flatten_mapping(node)  # `<<: *anchor` merges
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _compose(text: str) -> tuple[Any, Any]:
    loader = FastLoader(text)
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


def _node_at(text: str, key: KeyPath) -> Any:
    """The YAML node at ``key`` of ``text``, or None (merges and aliases resolved)."""
    try:
        loader, node = _compose(text)
    except yaml.YAMLError:
        return None
    for part in key:
        node = _mapping(loader, node).get(part)
        if node is None:
            return None
    return node


def _file_lines(file_text: str) -> tuple[list[int], list[int]]:
    starts = _starts(file_text)
    ends = [s - 1 for s in starts[1:]] + [len(file_text)]
    return starts, ends


def _scalar_source(
    target: Target, file: Path, file_text: str, key: KeyPath, node: Any
) -> Source | str:
    """A Source for a scalar node, or the reason its text cannot be located in the file."""
    value = node.value
    where = f"{display_path(file)}:{node.start_mark.line + 1}"
    if node.style == "|":
        starts, ends = _file_lines(file_text)
        first = node.start_mark.line + 1  # content starts on the line after `|`
        lines = value.split("\n")
        indent = next(
            (
                len(file_text[starts[first + i] : ends[first + i]])
                - len(file_text[starts[first + i] : ends[first + i]].lstrip(" "))
                for i, ln in enumerate(lines)
                if ln.strip() and first + i < len(starts)
            ),
            0,
        )
        if first + len(lines) - 1 > len(starts):
            return f"{where}: cannot locate the block's lines"
        line_starts, line_ends = [], []
        for i in range(len(lines)):
            n = min(first + i, len(starts) - 1)
            line_starts.append(min(starts[n] + indent, ends[n]))
            line_ends.append(ends[n])
        newline = "\n" + " " * indent
        return Source(target, file, key, value, file_text, line_starts, line_ends, newline)
    if node.style in (None, "", "'", '"') and "\n" not in value:
        base = node.start_mark.index + (1 if node.style in ("'", '"') else 0)
        if file_text[base : base + len(value)] == value:
            return Source(target, file, key, value, file_text, [base], [base + len(value)], "\n")
    return f"{where}: cannot map positions of this {node.style or 'plain'} scalar (write it as `|`)"


def load_sources(spec: Path, select: str | None = None) -> SpecSources:
    """The SQL and watermark texts of a spec's (selected, not skipped) tests, deduplicated."""
    tests = load_spec(spec)  # ConfigError (file:line) when it is not a valid spec
    active = [lt for lt in tests if not lt.test.skip and (select is None or select in lt.test.name)]
    file_text = spec.read_text(encoding="utf-8")
    loader, root = _compose(file_text)
    sources: dict[tuple[str, int], Source] = {}
    notes: list[str] = []
    tests_node = _mapping(loader, root).get("flink_transformation_tests")
    nodes = _mapping(loader, tests_node)
    for lt in active:
        name = lt.test.name
        test_node = nodes.get(name)
        fields = _mapping(loader, test_node)
        base: KeyPath = ("flink_transformation_tests", name)
        found: list[tuple[str, int, Source | str]] = []
        if lt.test.flink_sql and "flink_sql" in fields:
            node = fields["flink_sql"]
            made = _scalar_source(Target.SQL, spec, file_text, (*base, "flink_sql"), node)
            found.append((str(spec), node.start_mark.index, made))
        elif lt.test.sql_template:
            made_t = _template_source(spec, lt.test.sql_template)
            found.append((str(made_t.file) if isinstance(made_t, Source) else "", 0, made_t))
        for table, tnode in _mapping(loader, fields.get("tables")).items():
            wm = _mapping(loader, tnode).get("watermark")
            if isinstance(wm, yaml.ScalarNode):
                key = (*base, "tables", table, "watermark")
                made = _scalar_source(Target.WATERMARK, spec, file_text, key, wm)
                found.append((str(spec), wm.start_mark.index, made))
        for file_key, index, made in found:
            if isinstance(made, str):
                if made not in notes:
                    notes.append(made)
                continue
            src = sources.setdefault((file_key, index), made)
            if name not in src.tests:
                src.tests.append(name)
    return SpecSources(spec, active, list(sources.values()), notes)


def _template_source(spec: Path, name: str) -> Source | str:
    root = find_sql_root(spec.parent.resolve())
    if root is None:
        return f"{display_path(spec)}: no flink/sql/ above the spec for template {name!r}"
    rel = name.removeprefix("flink/sql/")
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return f"{display_path(spec)}: template {name!r} not found under {root}"
    starts, ends = _file_lines(text)
    return Source(Target.SQL, path, None, text, text, starts, ends, "\n")


def _diff(before: str, after: str) -> list[str]:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [ln for ln in lines if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def _place(m: Mutant, src: Source) -> Mutant | None:
    """``m`` (in the source text's coordinates) as an edit of the user's file; None if unsafe."""
    start, end, site = src.to_file(m.start), src.to_file(m.end), src.to_file(m.site)
    replacement = m.replacement.replace("\n", src.newline)
    new_text = src.file_text[:start] + replacement + src.file_text[end:]
    if new_text == src.file_text:
        return None
    if src.key is not None:  # the spec must hold exactly the mutated text where it was
        node = _node_at(new_text, src.key)
        if not isinstance(node, yaml.ScalarNode) or node.value != m.text:
            return None
    line, col = line_col(src.file_text, site)
    first = src.file_text.rfind("\n", 0, start) + 1
    last = src.file_text.find("\n", end)
    last = len(src.file_text) if last == -1 else last
    after_last = last + len(replacement) - (end - start)
    where = f"{display_path(src.file)}:{line}:{col}"
    return m.model_copy(
        update={
            "file": display_path(src.file),
            "description": f"{m.label} at {where}",
            "line": line,
            "col": col,
            "site": site,
            "start": start,
            "end": end,
            "original": src.file_text[start:end],
            "replacement": replacement,
            "text": new_text,
            "tests": list(src.tests),
            "diff": _diff(src.file_text[first:last], new_text[first:after_last]),
        }
    )


def enumerate_mutants(
    sources: SpecSources, operators: list[str] | None = None, max_mutants: int | None = None
) -> list[Mutant]:
    """Every distinct mutant of a spec, round-robin over operators when ``max_mutants`` cuts."""
    by_op: dict[str, list[Mutant]] = {}
    seen: set[tuple[str, int, int, str]] = set()
    for name in operators or list(OPERATORS):
        op = OPERATORS[name]
        for src in sources.sources:
            if src.target is not op.target:
                continue
            for m in op.fn(tokenize(src.text), src.text):
                placed = _place(m, src)
                if placed is not None and placed.key not in seen:
                    seen.add(placed.key)
                    by_op.setdefault(name, []).append(placed)
    queues = [list(v) for v in by_op.values()]
    out: list[Mutant] = []
    while any(queues) and (max_mutants is None or len(out) < max_mutants):
        for q in queues:
            if q and (max_mutants is None or len(out) < max_mutants):
                out.append(q.pop(0))
    return out


def check_spec(path: Path) -> None:
    """A one-line ConfigError when ``path`` is not a spec file."""
    if not path.is_file():
        raise ConfigError("no such spec file", file=str(path))
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError("not a spec file (expected .yaml or .yml)", file=str(path))
    if os.path.getsize(path) == 0:
        raise ConfigError("empty spec file", file=str(path))
