"""Python imports in selection: parsing, resolving, what a suite runs, and selection through them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.ci.python_imports import (
    ImportFrom,
    ModuleIndex,
    command_entries,
    module_name,
    parse_imports,
)
from ctt.ci.select import explain_lines
from ctt.ci.selection import SelectionMode
from tests.unit.ci._fixture import changes, selector
from tests.unit.ci._repo import Repo


def test_parse_finds_imports_at_any_depth() -> None:
    text = (
        "import os, app.core.util as u\n"
        "from . import sibling\n"
        "from ..lib import helper\n"
        "from star import *\n"
        "def f():\n"
        "    from app.lazy import thing\n"
        "if True:\n"
        "    import app.cond\n"
    )
    assert sorted(parse_imports(text)) == sorted(
        [
            ImportFrom(0, "os", []),
            ImportFrom(0, "app.core.util", []),
            ImportFrom(1, "", ["sibling"]),
            ImportFrom(2, "lib", ["helper"]),
            ImportFrom(0, "star", []),
            ImportFrom(0, "app.cond", []),
            ImportFrom(0, "app.lazy", ["thing"]),
        ]
    )


def test_a_file_that_does_not_parse_imports_nothing() -> None:
    assert parse_imports("def broken(:\n") == []


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    assert isinstance(parse_imports(text), list)


def test_module_names() -> None:
    assert module_name("ctt/flinktest/runner.py") == ("ctt.flinktest.runner", False)
    assert module_name("ctt/__init__.py") == ("ctt", True)
    assert module_name("src/pkg/mod.py") == ("pkg.mod", False)
    assert module_name("bench/my-tool.py") is None
    assert module_name("README.md") is None


def test_resolve_loads_packages_on_the_way_and_from_import_modules() -> None:
    files = ["app/__init__.py", "app/core/__init__.py", "app/core/util.py", "app/main.py"]
    index = ModuleIndex(files)
    got = list(index.resolve("app/main.py", ImportFrom(0, "app.core", ["util", "VALUE"])))
    assert got == [
        ("app/__init__.py", "app"),
        ("app/core/__init__.py", "app.core"),
        ("app/core/util.py", "app.core.util"),
    ]
    rel = list(index.resolve("app/core/util.py", ImportFrom(2, "", ["main"])))
    assert ("app/main.py", "app.main") in rel
    assert list(index.resolve("app/main.py", ImportFrom(5, "x", []))) == []  # beyond the root
    assert list(index.resolve("app/main.py", ImportFrom(0, "requests", []))) == []


def test_command_entries_name_paths_not_options() -> None:
    cmd = 'uv run pytest tests/integration/test_a.py::test_x -m "not slow" -k a --junitxml "$CTT_JUNIT_PATH"'
    assert "tests/integration/test_a.py" in list(command_entries(cmd, ""))
    assert not [e for e in command_entries(cmd, "") if e.startswith(("-", "$"))]
    assert list(command_entries("pytest ../escape", "")) == ["pytest"]  # not above the root
    assert "sub/t" in list(command_entries("pytest t", "sub"))
    assert list(command_entries("pytest 'unbalanced", "")) == []


SELECTION = """\
test_selection:
  change_detection:
    paths:
      - path: "app/"
        tests: ["unit"]
"""

SUITES = """\
suites:
  unit: {kind: command, command: "pytest tests/unit"}
  integration: {kind: command, command: "uv run pytest tests/integration -m integration"}
  single: {kind: command, command: "pytest tests/integration/test_only_db.py"}
  cli: {kind: command, command: "python -m app --help"}
  specs: {kind: flink, path: specs}
"""

FILES: dict[str, str | bytes] = {
    "conf/test-selection.yaml": SELECTION,
    "conf/suites.yaml": SUITES,
    "app/__init__.py": "",
    "app/__main__.py": "from app.cli import main\nmain()\n",
    "app/cli.py": "def main():\n    from app.report import render\n",
    "app/db.py": "import sqlite3\n",
    "app/engine.py": "from app import db\n",
    "app/report.py": "X = 1\n",
    "app/unused.py": "Y = 2\n",
    "tests/__init__.py": "",
    "tests/conftest.py": "",
    "tests/unit/test_report.py": "from app.report import X\n",
    "tests/integration/conftest.py": "from app.engine import *\n",
    "tests/integration/test_engine.py": "from ..integration import conftest\n",
    "tests/integration/test_only_db.py": "import app.db\n",
    "specs/a.yaml": "flink_transformation_tests: {}\n",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Repo(tmp_path).commit(FILES)
    return tmp_path


def _selected(root: Path, path: str) -> set[str]:
    sel = selector(root).select(SelectionMode.SMART, changes(path))
    return set(sel.selected)


def test_a_module_selects_the_suites_whose_tests_import_it_transitively(root: Path) -> None:
    # db <- engine <- tests/integration/conftest.py <- integration; db <- test_only_db <- single
    assert _selected(root, "app/db.py") == {"unit", "integration", "single"}
    assert _selected(root, "app/engine.py") == {"unit", "integration"}
    # report: imported by a unit test, and lazily by the CLI that `python -m app` runs
    assert _selected(root, "app/report.py") == {"unit", "cli"}
    # a package's __init__ loads with every import below it
    assert _selected(root, "app/__init__.py") == {"unit", "integration", "single", "cli"}
    assert _selected(root, "app/unused.py") == {"unit"}  # the path rule only


def test_conftest_above_a_test_directory_selects_the_suite(root: Path) -> None:
    assert _selected(root, "tests/conftest.py") == {"unit", "integration"}


def test_explain_shows_the_import_chain(root: Path) -> None:
    sel = selector(root).select(SelectionMode.SMART, changes("app/db.py"))
    reason = next(r for r in sel.selected["single"] if r.method == "python")
    assert reason.rule == "suite 'single' runs tests/integration/test_only_db.py"
    assert reason.steps[1] == "tests/integration/test_only_db.py imports app.db"
    text = "\n".join(explain_lines(sel))
    assert "via tests/integration/test_only_db.py imports app.db" in text


def test_the_flink_entry_is_the_run_command(tmp_path: Path) -> None:
    files = {
        **FILES,
        "ctt/__init__.py": "",
        "ctt/commands/__init__.py": "",
        "ctt/commands/run.py": "from ctt.flinktest import runner\n",
        "ctt/flinktest/__init__.py": "",
        "ctt/flinktest/runner.py": "",
        "ctt/cli.py": "def gate():\n    from ctt.commands import gate\n",
        "ctt/commands/gate.py": "",
    }
    Repo(tmp_path).commit(files)
    assert _selected(tmp_path, "ctt/flinktest/runner.py") == {"specs"}
    assert _selected(tmp_path, "ctt/commands/gate.py") == set()  # the CLI is not followed


def test_lineage_python_empty_turns_it_off(tmp_path: Path) -> None:
    off = SELECTION + "  lineage:\n    python: []\n"
    Repo(tmp_path).commit({**FILES, "conf/test-selection.yaml": off})
    assert _selected(tmp_path, "app/db.py") == {"unit"}


def test_parsed_imports_are_cached_by_blob(root: Path) -> None:
    from ctt.ci.select import load_selector

    cache = root / ".cache"
    args = (root, root / "conf/test-selection.yaml", root / "conf/suites.yaml")
    load_selector(*args, cache_dir=cache)
    again = load_selector(*args, cache_dir=cache)
    distinct = {text for f, text in FILES.items() if f.endswith(".py")}  # one blob each
    assert again.ctx.cache is not None and again.ctx.cache.hits >= len(distinct)
    got = again.select(SelectionMode.SMART, changes("app/db.py"))
    assert set(got.selected) == {"unit", "integration", "single"}


def test_the_shipped_config_follows_a_runner_change_to_the_flink_and_integration_suites() -> None:
    from ctt.ci.select import load_selector

    repo = Path(__file__).resolve().parents[3]
    conf = repo / "continuous-testing/config"
    sel = load_selector(repo, conf / "test-selection.yaml", conf / "suites.yaml")
    got = sel.select(SelectionMode.SMART, changes("ctt/flinktest/runner.py")).selected
    assert {"flink_transformation_tests", "integration_tests", "all_unit_tests"} <= set(got)
    assert "python" in {r.method for r in got["integration_tests"]}
    # the producer/consumer suite's test imports ctt.kafka, not the runner
    assert "basic_producer_consumer" not in got
    kafka = sel.select(SelectionMode.SMART, changes("ctt/kafka/consume.py")).selected
    assert {"basic_producer_consumer", "integration_tests"} <= set(kafka)
    # terraform suites never import Python
    assert not {"topic_tests", "rbac_tests"} & set(kafka)
