"""The Confluent Cloud equivalent of ctt's DLQ routing: table options, and the ALTER that sets them."""

from __future__ import annotations

from ctt.engines.confluent_dialect import (
    error_handling_options,
    error_handling_sql,
    split_statements,
)


def test_options_name_the_log_mode_and_target() -> None:
    assert error_handling_options("orders_dlq") == {
        "error-handling.mode": "log",
        "error-handling.log.target": "orders_dlq",
    }


def test_alter_table_is_one_statement() -> None:
    sql = error_handling_sql("orders", "orders_dlq")
    assert sql == (
        "ALTER TABLE `orders` SET ('error-handling.mode' = 'log', "
        "'error-handling.log.target' = 'orders_dlq')"
    )
    assert split_statements(sql) == [sql]
