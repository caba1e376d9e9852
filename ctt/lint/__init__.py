"""``ctt lint``: what Confluent Cloud rejects or runs differently, at ``file:line:col``.

Pure text analysis on the tokens of :mod:`ctt.sql.lexer` (no engine, no JVM): each rule in
:mod:`ctt.lint.rules` is one module with a ``NAME`` and ``check(unit)``. A finding can be
silenced where it is meant, with a SQL comment ``-- ctt-lint: ignore[rule, ...]`` on its line
or the line above.
"""

from __future__ import annotations

import re
from pathlib import Path

from ctt.errors import UsageError
from ctt.lint.model import Finding, LintReport, Severity
from ctt.lint.rules import RULES
from ctt.lint.units import LintUnit, load_units
from ctt.sql.lexer import TokenKind, tokenize

__all__ = ["RULES", "Finding", "LintReport", "Severity", "lint", "lint_units"]

_IGNORE = re.compile(r"ctt-lint:\s*ignore\[([\w\s,]+)\]")


def _ignored(unit: LintUnit) -> dict[int, set[str]]:
    """SQL line -> rules silenced there (a comment's own line and the next)."""
    out: dict[int, set[str]] = {}
    for tok in tokenize(unit.sql):
        if tok.kind is not TokenKind.COMMENT:
            continue
        m = _IGNORE.search(tok.text)
        if m:
            names = {n.strip() for n in m[1].split(",") if n.strip()}
            for line in (tok.line, tok.line + 1):
                out.setdefault(line, set()).update(names)
    return out


def _selected(select: list[str] | None, ignore: list[str] | None) -> list[str]:
    for name in [*(select or []), *(ignore or [])]:
        if name not in RULES:
            raise UsageError(f"unknown lint rule {name!r}", hint="rules: " + ", ".join(RULES))
    return [n for n in RULES if (not select or n in select) and n not in (ignore or [])]


def lint_units(
    units: list[LintUnit], *, select: list[str] | None = None, ignore: list[str] | None = None
) -> list[Finding]:
    names = _selected(select, ignore)
    found: list[Finding] = []
    for unit in units:
        silenced = _ignored(unit)
        first = unit.source.first_line
        for name in names:
            for f in RULES[name](unit):
                if f.file == unit.source.file and name in silenced.get(f.line - first + 1, set()):
                    continue
                found.append(f)
    unique = {(f.file, f.line, f.col, f.rule, f.test): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.col, f.rule))


def lint(
    paths: list[Path], *, select: list[str] | None = None, ignore: list[str] | None = None
) -> LintReport:
    """Lint spec files (and directories of them) and SQL files."""
    if not paths:
        raise UsageError("give spec files, directories of specs or .sql files to lint")
    files, units = load_units(paths)
    if not files:
        raise UsageError(
            f"nothing to lint in {', '.join(map(str, paths))}: no spec (.yaml) found",
            hint="a directory yields its specs; name .sql files one by one (or with a shell glob)",
        )
    return LintReport(
        files=files, units=len(units), findings=lint_units(units, select=select, ignore=ignore)
    )
