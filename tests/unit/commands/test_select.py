"""``ctt select``: mode and child-pipeline template are checked before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ctt.ci.selection import SelectionMode
from ctt.commands import select as select_cmd
from ctt.console import Output
from ctt.errors import UsageError
from tests.unit.ci._fixture import make_repo


def test_mode_is_parsed_leniently_and_unknown_ones_name_the_choices() -> None:
    assert select_cmd.parse_mode(" Smart ") is SelectionMode.SMART
    with pytest.raises(UsageError, match="use smart, full or manual"):
        select_cmd.parse_mode("clever")


def test_full_plan_with_child_pipeline_and_a_template_that_is_not_a_mapping(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path)
    args: dict[str, Any] = {
        "repo": tmp_path,
        "mode": "full",
        "tests": None,
        "analysis": tmp_path / "change-analysis.json",
        "history": None,
        "branch": None,
        "parallel_limit": 2,
        "output": tmp_path / "plan.json",
        "child": tmp_path / "child.yml",
        "explain": False,
        "config": Path("conf/test-selection.yaml"),
        "suites": Path("conf/suites.yaml"),
        "cache_dir": None,
    }
    plan = select_cmd.select(Output(quiet=True), child_template=None, **args)
    assert plan.parallel_limit == 2 and (tmp_path / "plan.json").exists()
    assert all(f"test:{s}" in (tmp_path / "child.yml").read_text() for s in plan.suites)
    template = tmp_path / "template.yml"
    template.write_text("- a list\n")
    with pytest.raises(UsageError, match="must be a YAML mapping"):
        select_cmd.select(Output(quiet=True), child_template=template, **args)
