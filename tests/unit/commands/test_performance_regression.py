"""Through the CLI: ``ctt aggregate`` over JUnit of several runs, then ``ctt gate``.

The JUnit files are written by the Flink runner's own reporter (``to_junit``), so the metric
properties are named as a real run names them. A latency that doubles from one run on warns
for ``consecutive - 1`` runs and blocks from the ``consecutive``-th.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctt import cli
from ctt.ci.history import HistoryStore
from ctt.flinktest.reporting import write_reports
from ctt.flinktest.results import RunReport, TestResult
from ctt.observed.model import Outcome
from ctt.report.model import Status

GATES = """\
quality_gates:
  mode: blocking
  performance_regression:
    action: block
    baseline_runs: 6
    min_samples: 3
    consecutive: 2
"""


def _junit(path: Path, latency_p95: float, throughput: float) -> None:
    test = TestResult(
        name="tumble",
        file="specs/windows.yaml",
        status=Status.PASSED,
        duration_s=3.0,
        outcomes=[
            Outcome(
                name="throughput_min",
                passed=True,
                summary="ok",
                properties={"throughput_records_per_s": f"{throughput:.1f}"},
            )
        ],
        metrics={"latency_p95_ms": latency_p95, "restarts": 0, "vertex0.records_in_per_s": 9.5},
    )
    report = RunReport(run_id="r", engine="local", started_at=datetime.now(UTC), tests=[test])
    report.finish(3.0)
    write_reports(report, junit=path, results=None)


def _ctt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["ctt", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return int(info.value.code or 0), capsys.readouterr().out


def test_a_lasting_latency_step_warns_then_blocks_after_k_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_PIPELINE_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    Path("gates.yaml").write_text(GATES)
    history = str(tmp_path / "h.sqlite")
    latencies = [100.0, 104.0, 97.0, 101.0, 99.0, 210.0, 220.0]
    verdicts = []
    for i, latency in enumerate(latencies):
        monkeypatch.setenv("CI_PIPELINE_ID", str(i))
        _junit(tmp_path / "results" / "junit-flink.xml", latency, 5000.0 + i)
        code, _ = _ctt(
            monkeypatch,
            capsys,
            "aggregate",
            "results",
            "--history",
            history,
            "--gates",
            "gates.yaml",
            "--branch",
            "main",
        )
        assert code == 0
        code, out = _ctt(monkeypatch, capsys, "gate", "--config", "gates.yaml", "--json")
        gate = json.loads(out)
        row = next(r for r in gate["results"] if r["condition"] == "performance_regression")
        verdicts.append(
            (code, row["verdict"], [c["verdict"] for c in gate["performance_regressions"]])
        )
    assert verdicts[:3] == [(0, "n/a", [])] * 3  # fewer than min_samples passing runs before
    assert verdicts[3:5] == [(0, "pass", [])] * 2
    assert verdicts[5] == (0, "pass", ["warning"])  # one run beyond the margin: an outlier
    assert verdicts[6] == (1, "fail", ["regressed"])  # two in a row: blocks
    found = gate["performance_regressions"][0]
    assert found["test"] == "windows::tumble" and found["metric"] == "latency_p95_ms"
    assert found["engine"] == "local" and found["current"] == 220.0
    assert found["baseline_median"] == 100.5 and found["baseline_runs"] == 6
    assert found["margin"] == 0.3 and found["streak"] == 2
    assert "median 100.5 of 6 passing runs" in row["detail"]
    code, out = _ctt(monkeypatch, capsys, "gate", "--config", "gates.yaml")
    assert code == 1
    flat = " ".join(out.split())  # whatever the terminal width wraps
    assert "performance regressed: windows::tumble [local] latency_p95_ms: 220 ms" in flat
    # what aggregate stored: every metric, per test and engine, the vertex rates too
    with HistoryStore.open(history) as store:
        series = store.metric_series(["windows::tumble"], limit=50)
    assert [p.value for p in series[("windows::tumble", "local", "latency_p95_ms")]] == latencies
    assert ("windows::tumble", "local", "vertex0.records_in_per_s") in series
    assert len(series[("windows::tumble", "local", "throughput_records_per_s")]) == 7
    html = Path("consolidated-test-report.html").read_text()
    assert 'id="performance-metrics"' in html and "perf-card regressed" in html


def test_a_misspelt_metric_or_a_missing_gates_file_is_the_users_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctt.commands.aggregate import aggregate
    from ctt.console import Output
    from ctt.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "gates.yaml"
    bad.write_text(GATES + "    margins: {latency_p95: 10%}\n")
    history = str(tmp_path / "h.sqlite")
    with pytest.raises(ConfigError, match="latency_p95") as info:
        aggregate(Output(quiet=True), [tmp_path], history=history, gates=bad)
    assert info.value.file == str(bad) and "latency_p95_ms" in (info.value.hint or "")
    with pytest.raises(ConfigError):
        aggregate(Output(quiet=True), [tmp_path], history=history, gates=tmp_path / "absent.yaml")
    assert not Path("test-metrics.json").exists()  # nothing was written
