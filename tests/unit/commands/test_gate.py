"""``ctt gate``: a blocking failure raises (exit 1), advisory mode only reports, --json works."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.commands import gate as commands
from ctt.config.gates import GateMode
from ctt.console import Output
from ctt.errors import TestsFailed, UsageError
from ctt.report.metrics import write_metrics
from tests.unit.ci.test_gate import _metrics


def test_gate_command_exit_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = write_metrics(_metrics(), tmp_path / "m.json")
    cfg = tmp_path / "g.yaml"
    cfg.write_text("quality_gates:\n  mode: blocking\n  min_pass_rate: 99%\n")
    with pytest.raises(TestsFailed, match="min_pass_rate"):
        commands.gate(Output(json_mode=True), metrics_path=metrics, gates_path=cfg)
    out = capsys.readouterr().out
    assert '"blocked": true' in out
    report = commands.gate(
        Output(quiet=True), metrics_path=metrics, gates_path=cfg, mode=GateMode.ADVISORY
    )
    assert report.failed == ["min_pass_rate"]


def test_unknown_mode_is_a_usage_error_naming_the_choices() -> None:
    assert commands.parse_mode(None) is None
    assert commands.parse_mode("advisory") is GateMode.ADVISORY
    with pytest.raises(UsageError, match="use blocking, advisory or auto"):
        commands.parse_mode("nope")
