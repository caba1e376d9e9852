"""The gateway's nested Java exceptions become one line with the SQL line."""

from ctt.engines.gateway import sql_error

TRACE = """org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.
Caused by: org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to execute the operation 6e4.
Caused by: org.apache.flink.table.api.ValidationException: SQL validation failed. From line 3, column 15 to line 3, column 18: Object 'nope' not found
Caused by: org.apache.calcite.runtime.CalciteContextException: From line 3, column 15 to line 3, column 18: Object 'nope' not found"""


def test_user_facing_cause_and_line() -> None:
    err = sql_error(["Internal server error.", TRACE])
    assert err.sql_line == 3
    assert err.message.startswith("ValidationException: SQL validation failed")
    assert "\n" not in err.message


def test_plain_message_without_causes() -> None:
    err = sql_error(["something broke"])
    assert err.message == "something broke" and err.sql_line is None
