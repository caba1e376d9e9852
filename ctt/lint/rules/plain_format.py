"""``'format' = 'json'`` (or avro, csv): Confluent Cloud reads and writes Schema Registry formats."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import options
from ctt.lint.units import LintUnit

NAME = "plain_format"
REGISTRY_FORMATS = frozenset({"avro-registry", "json-registry", "proto-registry", "raw"})
_KEYS = frozenset({"format", "key.format", "value.format"})


def check(unit: LintUnit) -> Iterator[Finding]:
    for key, value in options(unit.sql):
        name, fmt = key.value.lower(), value.value.lower()
        if name not in _KEYS or fmt in REGISTRY_FORMATS:
            continue
        better = f"{fmt}-registry" if f"{fmt}-registry" in REGISTRY_FORMATS else None
        target = "value.format" if name == "format" else name
        yield unit.at(
            key.offset,
            NAME,
            Severity.ERROR,
            f"'{key.value}' = '{value.value}' is not a Confluent Cloud format "
            "(plain JSON without a schema cannot be read there)",
            hint=(
                f"use '{target}' = '{better}'"
                if better
                else "use one of " + ", ".join(sorted(REGISTRY_FORMATS))
            )
            + ": the schema is registered in Schema Registry",
        )
