"""Selector methods: the registry, and what lineage and modules add to the graph."""

from __future__ import annotations

from pathlib import Path

from ctt.ci.selector_methods import METHODS, MethodName, SelectorMethod
from tests.unit.ci._fixture import make_repo, selector


def test_every_method_name_is_registered_once() -> None:
    assert set(METHODS) == set(MethodName)
    for name, cls in METHODS.items():
        assert issubclass(cls, SelectorMethod) and cls.name is name


def test_lineage_entries_and_module_entries(tmp_path: Path) -> None:
    make_repo(tmp_path)
    sel = selector(tmp_path)
    assert sel.components("flink/sql/transformations/enrich.sql") == [
        "sql:flink/sql/transformations/enrich.sql"
    ]
    assert "spec:specs/agg/agg.yaml" in sel.components("specs/agg/agg.yaml")
    assert "module:flink/modules/flink-job" in sel.components("flink/modules/flink-job/sql/job.sql")
    assert sel.components("README.md") == []
    # a remote module source is not in the repository: no edge
    assert "module:confluentinc/confluent/x" not in sel.graph


def test_bad_spec_yaml_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    make_repo(tmp_path, {"specs/other/broken.yaml": "a: [unclosed\n"})
    sel = selector(tmp_path)
    assert any("broken.yaml: not valid YAML" in w for w in sel.ctx.warnings)
