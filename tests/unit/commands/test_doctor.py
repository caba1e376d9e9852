"""``ctt doctor``: every check in one table; any failure is an infrastructure error (exit 3)."""

from __future__ import annotations

import json

import pytest

from ctt.commands import doctor as doctor_cmd
from ctt.console import Output
from ctt.errors import ExitCode, InfraError
from ctt.report.model import exit_code
from ctt.stack.doctor import Check


def test_failed_checks_are_named_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = [
        Check(name="java", ok=True, detail="21"),
        Check(name="disk", ok=False, detail="1 GB free", advice="free 5 GB"),
    ]
    monkeypatch.setattr(doctor_cmd.doctor_mod, "run_checks", lambda: checks)
    with pytest.raises(InfraError, match="doctor found problems: disk") as info:
        doctor_cmd.doctor(Output(json_mode=True))
    assert exit_code(info.value) is ExitCode.INFRA
    assert [c["name"] for c in json.loads(capsys.readouterr().out)] == ["java", "disk"]
    monkeypatch.setattr(doctor_cmd.doctor_mod, "run_checks", lambda: checks[:1])
    doctor_cmd.doctor(Output(quiet=True))
