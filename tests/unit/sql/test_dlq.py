"""Generated DLQ routing SQL: every check the spec implies, and refusals for what it cannot parse."""

from __future__ import annotations

import pytest

from ctt.config.error_handling import ErrorHandling
from ctt.config.spec import TableDef
from ctt.sql import dlq
from ctt.sql.statements import parse

TABLE = TableDef.model_validate(
    {
        "schema": {"id": "BIGINT NOT NULL", "product": "STRING", "ts": "TIMESTAMP(3)"},
        "watermark": "ts - INTERVAL '1' SECOND",
    }
)


def test_reason_names_every_check_in_order() -> None:
    eh = ErrorHandling(max_record_bytes=500)
    case = dlq.reason_expression(TABLE, eh, {"product": ["a", "it's"]})
    order = [
        "'empty'",
        "'oversized'",
        "'not_json'",
        "'missing_field: id'",
        "'missing_field: ts'",
        "'wrong_type: id'",
        "'bad_timestamp: ts'",
        "'unknown_enum: product'",
    ]
    positions = [case.index(r) for r in order]
    assert positions == sorted(positions)
    assert "CHAR_LENGTH(`payload`) > 500" in case
    assert "TRY_CAST(JSON_VALUE(`payload`, '$.id') AS BIGINT)" in case  # NOT NULL dropped
    assert "'it''s'" in case  # quotes escaped
    assert "wrong_type: product" not in case  # a string cannot have the wrong type


def test_required_narrows_the_presence_checks() -> None:
    case = dlq.reason_expression(TABLE, ErrorHandling(required=["id"]), {})
    assert "missing_field: id" in case and "missing_field: ts" not in case


def test_raw_source_keeps_the_watermark_on_a_never_null_time() -> None:
    sql = dlq.raw_source(
        "orders", TABLE, ErrorHandling(), {}, topic="t", bootstrap="b", bounded={0: 5}
    )
    assert "`ts` AS CAST(COALESCE(TRY_CAST(" in sql
    assert "WATERMARK FOR `ts`" in sql
    assert "'format' = 'raw'" in sql and "partition:0,offset:5" in sql
    assert len(parse(sql)) == 1


def test_view_and_branch_split_on_the_reason() -> None:
    assert dlq.good_view("orders", TABLE).endswith("WHERE `__ctt_reason` IS NULL")
    assert dlq.dlq_insert("orders", "dlq").endswith("WHERE `__ctt_reason` IS NOT NULL")


@pytest.mark.parametrize(
    ("table", "text"),
    [
        ({"schema": {"a": "ROW<x INT>"}}, "scalar columns only"),
        ({"schema": {"a": "INT"}, "primary_key": "a"}, "upsert"),
        ({"schema": {"a": "INT"}, "format": "avro"}, "JSON records only"),
    ],
)
def test_unsupported_tables_are_refused(table: dict[str, object], text: str) -> None:
    with pytest.raises(dlq.RoutingUnsupported, match=text):
        dlq.check_supported("t", TableDef.model_validate(table))
