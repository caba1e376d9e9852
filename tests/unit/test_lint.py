"""The code stays as the guide asks: ruff clean, formatted, and mypy --strict on ctt/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_check_and_format() -> None:
    check = _run("ruff", "check", "ctt", "tests", "bench")
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = _run("ruff", "format", "--check", "ctt")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_strict() -> None:
    res = _run("mypy", "ctt")
    assert res.returncode == 0, res.stdout[-3000:]
