"""Loading specs: the seed's format, file:line errors and nearest-name hints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.spec import Watermark
from ctt.errors import ConfigError
from ctt.validate.registry import load_spec  # the loader the CLI uses: validations checked too

SPECS = Path(__file__).resolve().parents[3] / "specs"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    return p


def test_every_shipped_spec_loads() -> None:
    files = sorted(SPECS.rglob("*.yaml"))
    assert files
    for f in files:
        assert load_spec(f), f


def test_seed_sample_validation_names_are_accepted(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
flink_transformation_tests:
  windowed_aggregation:
    flink_sql: |
      CREATE TABLE s AS SELECT user_id FROM user_events;
    tables:
      user_events: {schema: {user_id: BIGINT, ts: TIMESTAMP(3)}, watermark: "ts - INTERVAL '5' SECOND"}
    test_data:
      - time_range: "2 hours"
      - events_per_user: 50
      - late_data_percentage: 5%
    validation:
      - window_count_accuracy: true
      - aggregation_correctness: true
      - late_data_handling: true
""",
    )
    (lt,) = load_spec(spec)
    assert lt.test.tables["user_events"].watermark == Watermark(column="ts", delay=5.0)
    gen = lt.test.generated_data()["user_events"]
    assert (
        gen.time_range == 7200
        and gen.events_per_key == 50
        and gen.late_data_percentage == pytest.approx(0.05)
    )


def test_unknown_key_names_line_and_nearest_key(tmp_path: Path) -> None:
    spec = write(tmp_path, "flink_transformation_tests:\n  t:\n    flink_sql: x\n    tabels: {}\n")
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    assert err.value.line == 4
    assert "did you mean 'tables'" in str(err.value)


def test_unknown_validation_suggests_nearest(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n    validation:\n      - field_transformation_acuracy: 100%\n",
    )
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    assert err.value.line == 5
    assert "field_transformation_accuracy" in str(err.value)


def test_bad_validation_argument_is_a_config_error(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n    validation:\n      - processing_latency_sla: soon\n",
    )
    with pytest.raises(ConfigError, match="processing_latency_sla"):
        load_spec(spec)


def test_malformed_yaml_has_a_line(tmp_path: Path) -> None:
    spec = write(tmp_path, "flink_transformation_tests:\n  t:\n    flink_sql: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    assert err.value.line is not None and "invalid YAML" in str(err.value)


def test_test_data_for_undeclared_table(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n    tables:\n      users: {schema: {id: INT}}\n    test_data:\n      user: {rows: []}\n",
    )
    with pytest.raises(ConfigError, match="did you mean 'users'"):
        load_spec(spec)


def test_exactly_one_sql_source(tmp_path: Path) -> None:
    spec = write(tmp_path, "flink_transformation_tests:\n  t:\n    tables: {}\n")
    with pytest.raises(ConfigError, match="exactly one of flink_sql, sql_template or table_api"):
        load_spec(spec)


def test_key_must_be_a_column(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n    tables:\n      users: {schema: {user_id: INT}, key: usr_id}\n",
    )
    with pytest.raises(ConfigError, match="did you mean 'user_id'"):
        load_spec(spec)


@pytest.mark.parametrize(
    ("text", "column", "delay"),
    [
        ("ts", "ts", 0.0),
        ("ts - INTERVAL '5' SECOND", "ts", 5.0),
        ("`t` - INTERVAL '2' MINUTE", "t", 120.0),
        ("ts - INTERVAL '500' MILLISECOND", "ts", 0.5),
    ],
)
def test_watermark_parsing(text: str, column: str, delay: float) -> None:
    wm = Watermark.parse(text)
    assert (wm.column, wm.delay) == (column, delay)


def test_watermark_rejects_expressions() -> None:
    with pytest.raises(ValueError):
        Watermark.parse("CAST(x AS TIMESTAMP(3))")


# --- no input makes the loader raise anything but ConfigError ------------------------------------

_KEYS = st.sampled_from(
    [
        "flink_transformation_tests", "t", "flink_sql", "sql_template", "params", "tables",
        "schema", "test_data", "rows", "deletes", "generate", "expected", "validation", "timeout",
        "key", "primary_key", "watermark", "topic", "partitions", "completion", "versioned",
        "count", "keys", "fields", "time_range", "order", "mode", "x-a", "output_schema_match",
        "processing_latency_sla", "late_data_percentage",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**20),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["30s", "soon", "ts", "BIGINT", "100%", "ts - INTERVAL '5' SECOND", "x"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=25,
)
_FRAGMENTS = st.sampled_from(
    [
        "flink_transformation_tests:", "\n", "  ", "    ", "t:", "flink_sql: x", "- ", "&a ", "*a",
        "[", "]", "{", "}", ": ", ",", "2024-13-45", "!!binary x", "!!float abc", "<<: *a", "? ",
        "---\n", "'", '"', "\t", "# c", "|\n", "rows:", "tables:", "schema: {id: INT}",
        "test_data:", "validation:", "- processing_latency_sla: soon", "timeout: x", "ä", "\r",
        "!!python/object:os.system x", "%TAG ! x\n", "\ufeff", "\x85", "\u2028",
    ]
)  # fmt: skip


def _check_inside(text: str, err: ConfigError) -> None:
    """A reported position lies inside the file: a real line, a column on it (or just past it)."""
    lines = text.splitlines() or [""]
    if err.line is not None:
        assert 1 <= err.line <= len(lines), (err.line, len(lines))
        if err.col is not None:
            assert 1 <= err.col <= len(lines[err.line - 1]) + 1, (err.col, lines[err.line - 1])


def _load_never_crashes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_spec(path)
    except ConfigError as err:
        _check_inside(path.read_text(encoding="utf-8"), err)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.text("abt_", min_size=1, max_size=3), _VALUES, max_size=3), st.booleans())
def test_structured_specs_raise_only_config_errors(
    tmp_path: Path, tests: dict[str, Any], wrap: bool
) -> None:
    doc: Any = {"flink_transformation_tests": tests} if wrap else tests
    _load_never_crashes(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_FRAGMENTS | st.text(max_size=3), max_size=30))
def test_arbitrary_text_raises_only_config_errors(tmp_path: Path, parts: list[str]) -> None:
    _load_never_crashes(tmp_path, "".join(parts).replace("\x00", ""))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_damaged_shipped_specs_raise_only_config_errors(
    tmp_path: Path, data: st.DataObject
) -> None:
    files = sorted(SPECS.rglob("*.yaml"))
    text = data.draw(st.sampled_from(files)).read_text(encoding="utf-8")
    cut = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(cut, min(len(text), cut + 40)))
    insert = data.draw(st.lists(_FRAGMENTS, max_size=3))
    _load_never_crashes(tmp_path, text[:cut] + "".join(insert) + text[end:])


@pytest.mark.parametrize("text", ["---\n", "\n\n", "# only a comment\n"])
def test_an_empty_document_points_inside_the_file(tmp_path: Path, text: str) -> None:
    """Found by hypothesis: `---` alone was reported at line 2 of a one-line file."""
    spec = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    line = err.value.line
    assert line is None or 1 <= line <= max(1, len(text.splitlines()))
    assert err.value.file == str(spec)
