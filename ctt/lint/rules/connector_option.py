"""``'connector' = '...'``: Confluent Cloud tables are Kafka topics of the cluster."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import options
from ctt.lint.units import LintUnit

NAME = "connector_option"
_NATIVE = frozenset({"confluent"})  # the one connector name Confluent Cloud itself uses


def check(unit: LintUnit) -> Iterator[Finding]:
    for key, value in options(unit.sql):
        if key.value.lower() == "connector" and value.value.lower() not in _NATIVE:
            yield unit.at(
                key.offset,
                NAME,
                Severity.ERROR,
                f"'connector' = '{value.value}' is not allowed in Confluent Cloud: tables are Kafka topics",
                hint="drop the connector options (topic, bootstrap servers, ...): CREATE TABLE "
                "there creates the topic, and its schema lives in Schema Registry",
            )
