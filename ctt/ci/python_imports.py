"""Python import dependencies: which repository files a Python file imports, and what a suite runs.

Selection follows code the way Python loads it: a test that imports
``ctt.flinktest.runner`` depends on ``ctt/flinktest/runner.py``, on everything
that module imports, and on the ``__init__.py`` of each package on the way.
Files are read with the stdlib :mod:`ast` (the code is never imported, so a
broken module cannot break selection), and parsed imports are cached by git
blob id, so ``ctt select`` parses only the files that changed since its last run.

Imports inside functions count too (the CLI imports its commands lazily; when
the function runs, the module loads). What static reading cannot see:
``importlib.import_module(name)`` with a computed name, ``subprocess`` runs of
another program (an e2e test that runs ``python -m ctt`` depends on nothing it
imports), and data files a module opens.
"""

from __future__ import annotations

import ast
import posixpath
import shlex
from collections.abc import Iterable, Iterator
from typing import NamedTuple

__all__ = [
    "ImportFrom",
    "ModuleIndex",
    "command_entries",
    "module_name",
    "parse_imports",
]


class ImportFrom(NamedTuple):
    """One import statement as written: ``from <level dots><module> import <names>``.

    ``import a.b`` is ``ImportFrom(0, "a.b", [])``. Stored raw (not resolved), so a
    cached parse stays right when the file moves to another package.
    """

    level: int
    module: str
    names: list[str]


def parse_imports(text: str) -> list[ImportFrom]:
    """Every import statement of a Python source, at any depth; [] when it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []  # a broken file imports nothing we can know; its own suite still sees it
    out: list[ImportFrom] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(ImportFrom(0, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names if a.name != "*"]
            out.append(ImportFrom(node.level, node.module or "", names))
    return out


def module_name(path: str) -> tuple[str, bool] | None:
    """``a/b/c.py`` -> (``a.b.c``, False); ``a/b/__init__.py`` -> (``a.b``, True).

    A ``src/`` layout's leading ``src/`` is not part of the name.
    """
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts), is_package


class ModuleIndex:
    """Dotted module names of the repository's Python files, and what an import resolves to."""

    def __init__(self, files: Iterable[str]) -> None:
        self.by_name: dict[str, str] = {}
        self.names: dict[str, tuple[str, bool]] = {}
        for path in files:
            named = module_name(path)
            if named is None:
                continue
            self.names[path] = named
            # a package and a module of the same name: the package wins, as in Python
            if named[1] or named[0] not in self.by_name:
                self.by_name[named[0]] = path

    def resolve(self, importer: str, stmt: ImportFrom) -> Iterator[tuple[str, str]]:
        """(file, dotted name) of each repository module that ``stmt`` in ``importer`` loads.

        Python loads every package on the way (``import a.b.c`` runs ``a/__init__.py``
        and ``a/b/__init__.py``), and ``from a import b`` loads ``a.b`` when it is a module.
        """
        base = stmt.module
        if stmt.level:
            own = self.names.get(importer)
            if own is None:
                return
            package = own[0].split(".") if own[1] else own[0].split(".")[:-1]
            if stmt.level - 1 > len(package):
                return
            package = package[: len(package) - (stmt.level - 1)]
            base = ".".join([*package, *([stmt.module] if stmt.module else [])])
        if not base:
            return
        parts = base.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            found = self.by_name.get(name)
            if found is not None:
                yield found, name
        for sub in stmt.names:
            name = f"{base}.{sub}"
            found = self.by_name.get(name)
            if found is not None:
                yield found, name


def command_entries(command: str, cwd: str) -> Iterator[str]:
    """Repository paths a shell command names: ``pytest tests/unit`` -> ``tests/unit``.

    Tokens that are options, variables or words that are no path are left out by
    the caller (it keeps only paths the repository has); ``path::test`` node ids
    name their file. ``cwd`` is the suite's directory, relative to the root.
    """
    try:
        tokens = shlex.split(command, comments=True)
    except ValueError:
        return  # unbalanced quotes: the suite itself will fail to start and say so
    for token in tokens:
        if not token or token.startswith(("-", "$")) or "=" in token.split("/")[0]:
            continue
        token = token.split("::", 1)[0]
        joined = (
            posixpath.normpath(posixpath.join(cwd, token)) if cwd else posixpath.normpath(token)
        )
        if joined.startswith("..") or joined.startswith("/"):
            continue
        yield "" if joined == "." else joined
