"""Malformed input: Flink's ``*.ignore-parse-errors`` vs Confluent Cloud's ``'error-handling.mode'``.

Apache Flink's Kafka formats skip a record they cannot parse with ``'json.ignore-parse-errors'``;
Confluent Cloud has no such format option: a table's ``'error-handling.mode'`` (``fail``, the
default; ``ignore``; ``log``, which writes the record to the dead letter queue table named by
``'error-handling.log.target'``) decides. Spec tables' ``options:`` are checked too.
"""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import options
from ctt.lint.units import LintUnit

NAME = "error_handling_mode"
MODES = frozenset({"fail", "ignore", "log"})
_IGNORE = frozenset({"json.ignore-parse-errors", "csv.ignore-parse-errors"})
_GUIDANCE = (
    "on Confluent Cloud set 'error-handling.mode' = 'log' and 'error-handling.log.target' = "
    "'<dlq table>' (malformed records go to the dead letter queue) or = 'ignore' (dropped)"
)


def _advice(key: str, value: str) -> tuple[Severity, str, str] | None:
    k, v = key.lower(), value.lower()
    if k in _IGNORE and v == "true":
        return Severity.WARNING, f"'{key}' does not exist on Confluent Cloud", _GUIDANCE
    if k == "error-handling.mode" and v not in MODES:
        return (
            Severity.ERROR,
            f"'error-handling.mode' = '{value}' is not a mode",
            ("use fail (the default), ignore or log"),
        )
    return None


def check(unit: LintUnit) -> Iterator[Finding]:
    pairs = {k.value.lower(): v.value.lower() for k, v in options(unit.sql)}
    for key, value in options(unit.sql):
        found = _advice(key.value, value.value)
        if found:
            yield unit.at(key.offset, NAME, found[0], found[1], hint=found[2])
        elif (
            key.value.lower() == "error-handling.log.target"
            and pairs.get("error-handling.mode") != "log"
        ):
            yield unit.at(
                key.offset,
                NAME,
                Severity.WARNING,
                "'error-handling.log.target' has no effect unless 'error-handling.mode' = 'log'",
                hint="add 'error-handling.mode' = 'log'",
            )
    for name, table in unit.tables.items():
        for opt, setting in table.options.items():
            found = _advice(opt, setting)
            if found:
                yield unit.at_table(
                    name, NAME, found[0], f"table {name}: {found[1]}", hint=found[2]
                )
