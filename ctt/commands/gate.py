"""``ctt gate``: evaluate the quality gates on test-metrics.json; a blocking failure exits 1.

Whether a failed gate blocks is the mode's call (blocking, advisory, or auto:
blocking in merge request pipelines); an advisory failure is a warning only.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from ctt.ci.gate import GateReport, Verdict, evaluate
from ctt.config.gates import DEFAULT_GATES_FILE, GateMode, load_gates
from ctt.console import Output
from ctt.errors import TestsFailed, UsageError
from ctt.report.metrics import load_metrics

__all__ = ["gate", "parse_mode"]

_VERDICT_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "bold red", Verdict.NA: "dim"}


def parse_mode(mode: str | None) -> GateMode | None:
    """``--mode`` as a GateMode (None: what quality-gates.yaml says), or a usage error."""
    try:
        return GateMode(mode) if mode else None
    except ValueError:
        raise UsageError(f"unknown mode {mode!r}", hint="use blocking, advisory or auto") from None


def gate(
    out: Output,
    *,
    metrics_path: Path = Path("test-metrics.json"),
    gates_path: Path = DEFAULT_GATES_FILE,
    mode: GateMode | None = None,
) -> GateReport:
    """Evaluate the quality gates; raise TestsFailed (exit 1) when a blocking gate fails."""
    report = evaluate(load_metrics(metrics_path), load_gates(gates_path), mode)
    if out.json_mode:
        out.emit_json(report)
    else:
        table = Table(title=f"quality gates ({report.mode.value})")
        for col in ("condition", "actual", "threshold", "verdict", "detail"):
            table.add_column(col)
        for r in report.results:
            style = _VERDICT_STYLE[r.verdict]
            verdict = r.verdict.value.upper() + ("" if r.blocking else " (advisory)")
            table.add_row(
                r.condition,
                escape(r.actual),
                escape(r.threshold),
                f"[{style}]{verdict}[/{style}]",
                escape(r.detail or ""),
            )
        out.table(table)
        for c in report.performance_regressions:
            out.info(escape(f"performance {c.verdict.value}: {c.describe()}"))
    if report.blocked:
        blocking = [r.condition for r in report.results if r.verdict is Verdict.FAIL and r.blocking]
        raise TestsFailed(f"blocking quality gates failed: {', '.join(blocking)}")
    if report.failed:
        out.warn(
            f"quality gates failed ({', '.join(report.failed)}) but do not block "
            f"({report.mode.value} mode)"
        )
    return report
