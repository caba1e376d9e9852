"""``'scan.startup.mode'``: where a statement starts reading differs between the engines."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import options
from ctt.lint.units import LintUnit

NAME = "scan_startup_mode"


def check(unit: LintUnit) -> Iterator[Finding]:
    for key, value in options(unit.sql):
        if key.value.lower() in (
            "scan.startup.mode",
            "scan.startup.timestamp-millis",
            "scan.startup.specific-offsets",
        ):
            yield unit.at(
                key.offset,
                NAME,
                Severity.WARNING,
                f"'{key.value}' = '{value.value}' runs differently on Confluent Cloud: there a table "
                "is shared by every statement that reads it, which starts at earliest-offset by default",
                hint="set the start per statement instead (the statement property "
                "'sql.tables.scan.startup.mode', or an OPTIONS hint on the one query)",
            )
