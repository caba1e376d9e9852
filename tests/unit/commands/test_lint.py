"""``ctt lint`` as a user runs it: exit 1 on findings, 2 on bad input, --json and --junit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ctt.report.junit import read_junit
from ctt.report.model import Status

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "tests" / "unit" / "lint" / "fixtures" / "seed"


def _ctt(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctt", "lint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_findings_exit_1_with_file_line_col() -> None:
    res = _ctt(str(SEED / "user_events_transformed.sql"), str(SEED / "windowed_aggregation.sql"))
    assert res.returncode == 1, res.stderr
    assert "user_events_transformed.sql:12:3: error[proctime]" in res.stdout
    assert "windowed_aggregation.sql:9:19: error[legacy_group_window]" in res.stdout
    assert "FROM TABLE(TUMBLE(TABLE user_events" in res.stdout  # the rewrite is shown
    assert "Traceback" not in res.stderr


def test_json_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "lint.xml"
    res = _ctt(str(SEED), "--json")
    assert res.returncode == 2  # a directory yields specs only: .sql files are named
    assert "nothing to lint" in res.stderr
    res = _ctt(*(str(p) for p in sorted(SEED.glob("*.sql"))), "--json", "--junit", str(junit))
    doc = json.loads(res.stdout)
    assert res.returncode == 1
    assert {f["rule"] for f in doc["findings"]} == {"proctime", "legacy_group_window"}
    assert doc["errors"] == 2 and doc["warnings"] == 0
    cases = {c.name.rsplit("/", 1)[-1]: c for s in read_junit(junit).suites for c in s.cases}
    assert cases["user_events_transformed.sql"].status is Status.FAILED
    assert cases["basic_field_transformation.sql"].status is Status.PASSED


def test_clean_input_exits_0(tmp_path: Path) -> None:
    sql = tmp_path / "ok.sql"
    sql.write_text("SELECT user_id FROM t;\n")
    res = _ctt(str(sql))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 error(s), 0 warning(s)" in res.stdout


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    res = _ctt(str(tmp_path / "missing.yaml"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[0].startswith("error:")
    assert "missing.yaml" in res.stderr and "Traceback" not in res.stderr
    res = _ctt(str(SEED / "stream_join.sql"), "--select", "nope")
    assert res.returncode == 2 and "unknown lint rule 'nope'" in res.stderr
