"""Expected results computed without Flink, from the ground truth and the watermark strategy.

Public surface: :func:`compute_expected` (used by the runner for outputs that
have no explicit ``expected.rows``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.validate.base import Column, InputRecord


class OracleResult(BaseModel):
    """Expected rows of one output table, and what the oracle learnt on the way."""

    rows: list[dict[str, Any]]
    expected_late_dropped: int | None = Field(None, description="late events the query must drop")
    notes: list[str] = Field(default_factory=list)


def compute_expected(
    test: FlinkTest,
    table: str,
    *,
    sql: str,
    columns: list[Column],
    inputs: dict[str, list[InputRecord]],
) -> OracleResult:
    """Expected rows of ``table`` for these inputs (stub until the oracle lands)."""
    raise ConfigError(
        f"no expected rows for {table!r}: give `expected.{table}.rows` or `reference_sql`"
    )


__all__ = ["OracleResult", "compute_expected"]
