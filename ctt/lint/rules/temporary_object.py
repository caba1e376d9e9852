"""``CREATE TEMPORARY TABLE/VIEW/FUNCTION``: Confluent Cloud's catalog has no session-scoped objects."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import statements, tokens
from ctt.lint.units import LintUnit

NAME = "temporary_object"


def check(unit: LintUnit) -> Iterator[Finding]:
    for stmt in statements(unit):
        toks = tokens(stmt.sql)
        if len(toks) < 3 or toks[0].upper != "CREATE" or toks[1].upper != "TEMPORARY":
            continue
        kind = " ".join(
            t.upper for t in toks[2:4] if t.upper in ("SYSTEM", "TABLE", "VIEW", "FUNCTION")
        )
        yield unit.at(
            stmt.offset + toks[1].offset,
            NAME,
            Severity.ERROR,
            f"CREATE TEMPORARY {kind or toks[2].text}: Confluent Cloud has no temporary objects",
            hint="drop TEMPORARY: a table there is a topic and a view lives in the catalog; "
            "inline a one-off view as a subquery or a WITH clause",
        )
