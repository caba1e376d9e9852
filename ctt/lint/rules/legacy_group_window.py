"""Legacy ``GROUP BY TUMBLE/HOP/SESSION(...)``: Confluent Cloud has only window TVFs."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import statements
from ctt.lint.units import LintUnit
from ctt.sql.group_windows import GroupWindowError, legacy_window_calls, rewrite_group_windows

NAME = "legacy_group_window"
_EXAMPLE = (
    "write a window TVF, e.g. FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) "
    "GROUP BY k, window_start, window_end"
)


def check(unit: LintUnit) -> Iterator[Finding]:
    for stmt in statements(unit):
        calls = legacy_window_calls(stmt.sql)
        if not calls:
            continue
        try:
            rewrite: str | None = rewrite_group_windows(stmt.sql).sql
            hint = "the window TVF form below runs on both engines (`ctt run --engine confluent` rewrites this one itself)"
        except GroupWindowError as exc:
            rewrite, hint = None, f"cannot be rewritten mechanically ({exc}); {_EXAMPLE}"
        for tok in calls:
            yield unit.at(
                stmt.offset + tok.offset,
                NAME,
                Severity.ERROR,
                f"legacy group window GROUP BY {tok.upper}(...): Confluent Cloud has only window TVFs",
                hint=hint,
                rewrite=rewrite,
            )
