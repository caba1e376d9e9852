"""``ctt lint``: report what Confluent Cloud rejects or runs differently; exit 1 on findings.

With ``--junit`` it is a pipeline suite: one test case per linted file, failed with its
findings, so `ctt aggregate` and GitLab read it like any other suite.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rich.markup import escape

from ctt.console import Output
from ctt.errors import TestsFailed
from ctt.lint import LintReport, lint
from ctt.report.junit import TestCaseResult, TestSuiteResult, write_junit
from ctt.report.model import Status

__all__ = ["lint_cli"]


def _junit(report: LintReport, path: Path) -> None:
    by_file: dict[str, list[str]] = defaultdict(list)
    for f in report.findings:
        by_file[f.file].append(f.text())
    cases = [
        TestCaseResult(
            name=file,
            classname="confluent_lint",
            file=file,
            status=Status.FAILED if by_file[file] else Status.PASSED,
            message=f"{len(by_file[file])} Confluent Cloud finding(s)" if by_file[file] else None,
            details="\n".join(by_file[file]) or None,
        )
        for file in report.files
    ]
    write_junit([TestSuiteResult(name="confluent_lint", cases=cases)], path)


def lint_cli(
    out: Output,
    paths: list[Path],
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    junit: Path | None = None,
) -> LintReport:
    report = lint(paths, select=select, ignore=ignore)
    if junit is not None:
        _junit(report, junit)
    if out.json_mode:
        out.emit_json(report)
    else:
        for f in report.findings:
            out.info(escape(f.text()))
            if f.hint:
                out.info(escape(f"    hint: {f.hint}"))
            if f.rewrite:
                out.info(
                    escape(
                        "    rewrite:\n" + "\n".join("      " + ln for ln in f.rewrite.splitlines())
                    )
                )
        out.info(
            f"{len(report.files)} file(s), {report.units} SQL text(s): "
            f"{report.errors} error(s), {report.warnings} warning(s)"
        )
    if report.findings:
        raise TestsFailed(
            f"ctt lint: {len(report.findings)} finding(s) for Confluent Cloud "
            f"({report.errors} error(s), {report.warnings} warning(s))"
        )
    return report
