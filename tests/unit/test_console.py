"""The one console: an error is one line, a ConfigError's snippet is printed verbatim below it."""

from __future__ import annotations

import pytest

from ctt.console import Output
from ctt.errors import ConfigError, InfraError


def test_failure_prints_one_line_and_the_snippet_below(capsys: pytest.CaptureFixture[str]) -> None:
    snippet = "2 | tables:\n3 |   [orders]: x\n  |   ^"
    Output().failure(ConfigError("unknown key", file="s.yaml", line=3, col=3, snippet=snippet))
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: s.yaml:3:3: unknown key"
    assert err[1:] == snippet.splitlines()  # brackets kept: no rich markup in user text


def test_failure_of_other_errors_and_ctrl_c(capsys: pytest.CaptureFixture[str]) -> None:
    Output().failure(InfraError("no stack is running", hint="run `ctt stack up`"))
    Output().failure(KeyboardInterrupt())
    assert capsys.readouterr().err.splitlines() == [
        "error: no stack is running (run `ctt stack up`)",
        "error: interrupted",
    ]
