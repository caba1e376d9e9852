"""``PROCTIME()``: Confluent Cloud has no processing time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import tokens
from ctt.lint.units import LintUnit

NAME = "proctime"


def check(unit: LintUnit) -> Iterator[Finding]:
    for tok, nxt in itertools.pairwise(tokens(unit.sql)):
        if nxt.is_punct("(") and (tok.upper == "PROCTIME" or tok.upper.endswith("_PROCTIME")):
            yield unit.at(
                tok.offset,
                NAME,
                Severity.ERROR,
                f"{tok.text}() does not exist in Confluent Cloud Flink SQL",
                hint="use the $rowtime column (the Kafka record time) or CURRENT_TIMESTAMP; "
                "processing-time windows and joins are not available there",
            )
