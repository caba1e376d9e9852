from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.selection import DEFAULT_GLOBAL_PATHS, SelectionConfig, Unmapped, load_selection
from ctt.errors import ConfigError

SEED = """\
test_selection:
  change_detection:
    paths:
      - path: "terraform/modules/connectors/"
        tests: ["connector_tests", "e2e_connector_flow"]
      - path: "terraform/modules/topics/"
        tests: ["topic_tests", "basic_producer_consumer"]
      - path: "flink-sql/"
        tests: ["flink_transformation_tests", "streaming_tests"]

  dependencies:
    connector_tests:
      requires: ["topic_tests", "rbac_tests"]
    e2e_tests:
      requires: ["all_unit_tests", "integration_tests"]

  execution_strategy:
    parallel_limit: 5
    timeout_per_test: "30m"
    retry_failed_tests: 2
"""


def _load(tmp_path: Path, text: str) -> SelectionConfig:
    path = tmp_path / "test-selection.yaml"
    path.write_text(text)
    return load_selection(path)


def test_seed_sample_is_accepted_as_written(tmp_path: Path) -> None:
    ts = _load(tmp_path, SEED).test_selection
    assert [r.path for r in ts.change_detection.paths][2] == "flink-sql/"
    assert ts.dependencies["connector_tests"].requires == ["topic_tests", "rbac_tests"]
    assert ts.execution_strategy.parallel_limit == 5
    assert ts.execution_strategy.timeout_per_test == 1800.0
    assert ts.execution_strategy.retry_failed_tests == 2
    assert ts.change_detection.global_paths == list(DEFAULT_GLOBAL_PATHS)
    assert ts.change_detection.unmapped is Unmapped.WARN


def test_flat_layout_is_hoisted_with_lines(tmp_path: Path) -> None:
    flat = SEED.replace("\n  dependencies:", "\ndependencies:").replace(
        "\n  execution_strategy:", "\nexecution_strategy:"
    )
    flat = "\n".join(
        line[2:] if i >= 10 and line.startswith("    ") else line
        for i, line in enumerate(flat.splitlines())
    )
    config = _load(tmp_path, flat + "\n")
    assert config.test_selection.dependencies["e2e_tests"].requires[0] == "all_unit_tests"
    assert config.line_of("dependencies", "e2e_tests") == 14


def test_errors_point_at_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, SEED.replace("parallel_limit: 5", "parallel_limit: 0"))
    assert exc.value.line == 18
    with pytest.raises(ConfigError, match="did you mean 'requires'"):
        _load(tmp_path, SEED.replace('requires: ["topic', 'require: ["topic'))
    with pytest.raises(ConfigError, match="negated"):
        _load(tmp_path, SEED.replace('"flink-sql/"', '"!flink-sql/"'))
    with pytest.raises(ConfigError, match="both at the top level"):
        _load(tmp_path, SEED + "dependencies: {}\n")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert config.test_selection.change_detection.paths == []


def test_shipped_example_loads() -> None:
    root = Path(__file__).resolve().parents[3]
    config = load_selection(root / "continuous-testing/config/test-selection.yaml")
    from ctt.config.suites import load_suites

    catalogue = load_suites(root / "continuous-testing/config/suites.yaml")
    config.check_suite_names(catalogue.suites)
    for name in (
        "connector_tests",
        "topic_tests",
        "flink_transformation_tests",
        "streaming_tests",
        "e2e_connector_flow",
        "basic_producer_consumer",
        "rbac_tests",
        "all_unit_tests",
        "integration_tests",
        "e2e_tests",
    ):
        assert name in catalogue.suites
