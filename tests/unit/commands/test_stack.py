"""``ctt stack status|logs`` without a running stack: a plain answer, or an infrastructure error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctt.commands import stack
from ctt.console import Output
from ctt.errors import InfraError


@pytest.fixture(autouse=True)
def _no_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path / "state"))


def test_status_of_no_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack.current_status().running is False
    stack.status(Output(json_mode=True))
    assert json.loads(capsys.readouterr().out)["running"] is False
    stack.status(Output())
    assert "no stack is running" in capsys.readouterr().out


def test_logs_of_no_stack_is_an_infra_error() -> None:
    with pytest.raises(InfraError, match="no stack is running"):
        stack.logs(Output(quiet=True), "kafka", lines=5)
