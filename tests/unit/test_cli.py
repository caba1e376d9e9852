"""``ctt.cli.main``: how a command ends becomes its documented exit code, with one error line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ctt import cli
from ctt.errors import ConfigError
from ctt.report.model import ErrorKind, RunNotPassed, Status

ROOT = Path(__file__).resolve().parents[2]


class _Result:
    def __init__(self, status: Status, kind: ErrorKind | None = None) -> None:
        self.status = status
        self.error_kind = kind


def _main(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> int:
    def app(**_: object) -> None:
        raise exc

    monkeypatch.setattr(cli, "app", app)
    with pytest.raises(SystemExit) as info:
        cli.main()
    return int(info.value.code or 0)


def test_errors_and_results_become_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ConfigError("no such key", file="g.yaml", line=2, snippet="2 | x: 1\n  | ^")
    assert _main(monkeypatch, bad) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: g.yaml:2: no such key",
        "2 | x: 1",
        "  | ^",
    ]
    broken = [_Result(Status.FAILED), _Result(Status.ERROR, ErrorKind.INFRA)]
    assert _main(monkeypatch, RunNotPassed("1 test(s) could not run (see above)", broken)) == 3
    assert "error: 1 test(s) could not run" in capsys.readouterr().err
    assert _main(monkeypatch, RunNotPassed("1 of 2 tests did not pass", broken[:1])) == 1
    assert _main(monkeypatch, KeyboardInterrupt()) == 130
    assert capsys.readouterr().err.splitlines()[-1] == "error: interrupted"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_domain_packages_never_import_commands_or_the_cli() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "ctt").rglob("*.py"))
        if path.parts[len(ROOT.parts) + 1] not in ("commands", "cli.py", "__main__.py")
        for name in _imports(path)
        if name == "ctt.cli" or name.startswith("ctt.commands")
    ]
    assert offenders == []
