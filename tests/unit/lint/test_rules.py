"""ctt lint's rules over the seed's SQL, a file of local-only constructs, and specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.errors import CttError, UsageError
from ctt.flinktest.sql_setup import SqlSource
from ctt.lint import RULES, lint, lint_units
from ctt.lint.units import LintUnit

FIXTURES = Path(__file__).parent / "fixtures"


def _where(paths: list[Path], **kw: list[str]) -> set[tuple[str, int, int, str]]:
    report = lint(paths, **kw)
    return {(Path(f.file).name, f.line, f.col, f.rule) for f in report.findings}


def test_seed_sql_flags_legacy_tumble_and_proctime_at_their_lines() -> None:
    report = lint(sorted((FIXTURES / "seed").glob("*.sql")))
    assert {(Path(f.file).name, f.line, f.rule) for f in report.findings} == {
        ("user_events_transformed.sql", 12, "proctime"),
        ("windowed_aggregation.sql", 9, "legacy_group_window"),
    }
    (tumble,) = [f for f in report.findings if f.rule == "legacy_group_window"]
    assert tumble.col == 19  # the TUMBLE of GROUP BY user_id, TUMBLE(...)
    assert tumble.rewrite is not None
    assert "TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(event_timestamp)" in tumble.rewrite
    assert "GROUP BY user_id, window_start, window_end" in tumble.rewrite
    assert "TUMBLE_START" not in tumble.rewrite


def test_every_rule_fires_on_local_only_sql() -> None:
    found = _where([FIXTURES / "local_only.sql"])
    assert found == {
        ("local_only.sql", 1, 8, "temporary_object"),
        ("local_only.sql", 7, 3, "connector_option"),
        ("local_only.sql", 9, 3, "plain_format"),
        ("local_only.sql", 10, 3, "error_handling_mode"),
        ("local_only.sql", 11, 3, "scan_startup_mode"),
        ("local_only.sql", 16, 12, "sparse_partitions"),
        ("local_only.sql", 20, 12, "window_without_watermark"),
        ("local_only.sql", 22, 33, "error_handling_mode"),
        ("local_only.sql", 22, 65, "error_handling_mode"),
    }
    fired = {rule for *_, rule in found} | {"proctime", "legacy_group_window"}
    assert fired == set(RULES)


def test_select_and_ignore(tmp_path: Path) -> None:
    only = _where([FIXTURES / "local_only.sql"], select=["plain_format"])
    assert {r for *_, r in only} == {"plain_format"}
    rest = _where([FIXTURES / "local_only.sql"], ignore=["plain_format", "error_handling_mode"])
    assert "plain_format" not in {r for *_, r in rest} and len(rest) == 5
    with pytest.raises(UsageError, match="unknown lint rule 'plain'"):
        lint([FIXTURES / "local_only.sql"], select=["plain"])


def test_comment_silences_a_rule_on_its_line_and_the_next(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(
        "-- ctt-lint: ignore[proctime]\n"
        "SELECT PROCTIME() AS a FROM t;\n"
        "SELECT PROCTIME() AS b FROM t; -- ctt-lint: ignore[legacy_group_window]\n"
    )
    assert _where([sql]) == {("q.sql", 3, 8, "proctime")}


_SPEC = """\
flink_transformation_tests:
  hourly:
    flink_sql: |
      CREATE TABLE summary AS
      SELECT user_id, COUNT(*) AS n
      FROM user_events
      GROUP BY user_id, TUMBLE(ts, INTERVAL '1' HOUR);
    tables:
      user_events:
        schema: {user_id: BIGINT, ts: TIMESTAMP(3)}
        options: {json.ignore-parse-errors: 'true'}
  by_rowtime:
    flink_sql: |
      CREATE TABLE per_minute AS
      SELECT window_start, COUNT(*) AS n
      FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR($rowtime), INTERVAL '1' MINUTE))
      GROUP BY window_start, window_end;
    tables:
      clicks:
        schema: {user_id: BIGINT}
        partitions: 2
    test_data:
      clicks:
        rows: [{user_id: 1}, {user_id: 2}]
"""


def test_spec_findings_point_inside_the_yaml(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(_SPEC)
    report = lint([spec])
    got = {(f.line, f.col, f.rule, f.test) for f in report.findings}
    assert got == {
        (7, 25, "legacy_group_window", "hourly"),  # the TUMBLE inside the block scalar
        (7, 25, "window_without_watermark", "hourly"),  # ts has no watermark
        (9, 7, "error_handling_mode", "hourly"),  # the table under tables:
        (16, 18, "sparse_partitions", "by_rowtime"),
    }
    sparse = next(f for f in report.findings if f.rule == "sparse_partitions")
    assert "sends 2 events over 2 partition(s)" in sparse.message


def test_bad_input_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flink_transformation_tests: {t: {flink_sql: 'x', nope: 1}}\n")
    with pytest.raises(CttError) as exc:
        lint([bad])
    assert "bad.yaml" in str(getattr(exc.value, "location", "")) or "bad.yaml" in str(exc.value)
    with pytest.raises(UsageError):
        lint([])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_lint_never_crashes_on_arbitrary_sql(text: str) -> None:
    unit = LintUnit(source=SqlSource(text=text, file="x.sql", first_line=1))
    for f in lint_units([unit]):
        assert f.line >= 1 and f.col >= 1


_SQLISH = st.lists(
    st.sampled_from(
        [
            "SELECT",
            "FROM",
            "TABLE",
            "(",
            ")",
            ",",
            ";",
            "TUMBLE",
            "HOP",
            "SESSION",
            "CUMULATE",
            "DESCRIPTOR",
            "GROUP",
            "BY",
            "PROCTIME",
            "CREATE",
            "TEMPORARY",
            "WATERMARK",
            "FOR",
            "AS",
            "'connector'",
            "=",
            "'json'",
            "'format'",
            "t",
            "ts",
            "$rowtime",
            "INTERVAL",
            "'1'",
            "HOUR",
            "TUMBLE_START",
            "--",
            "\n",
            "'",
            "`",
            "WITH",
            "SOURCE_WATERMARK",
        ]
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_SQLISH)
def test_lint_never_crashes_on_sql_like_token_soup(text: str) -> None:
    unit = LintUnit(source=SqlSource(text=text, file="x.sql", first_line=1))
    lint_units([unit])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text())
def test_arbitrary_spec_text_is_a_report_or_a_user_error(tmp_path: Path, text: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"flink_transformation_tests:\n  t:\n    flink_sql: {text!r}\n", encoding="utf-8"
    )
    try:
        lint([spec])
    except CttError as exc:
        assert str(exc)
