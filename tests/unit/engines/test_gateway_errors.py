"""The gateway's nested Java exceptions become one line with the SQL line."""

from ctt.engines.base import EngineError, StatementError
from ctt.engines.gateway import gateway_error, sql_error
from ctt.errors import ExitCode

TRACE = """org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.
Caused by: org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to execute the operation 6e4.
Caused by: org.apache.flink.table.api.ValidationException: SQL validation failed. From line 3, column 15 to line 3, column 18: Object 'nope' not found
Caused by: org.apache.calcite.runtime.CalciteContextException: From line 3, column 15 to line 3, column 18: Object 'nope' not found"""


def test_user_facing_cause_and_line() -> None:
    err = sql_error(["Internal server error.", TRACE])
    assert err.sql_line == 3
    assert err.message.startswith("ValidationException: SQL validation failed")
    assert "\n" not in err.message


def test_sql_error_is_a_config_error_with_exit_2() -> None:
    err = gateway_error(500, ["Internal server error.", TRACE], "GET /result")
    assert isinstance(err, StatementError) and err.exit_code is ExitCode.USAGE


def test_plain_message_without_causes_is_not_the_users_sql() -> None:
    assert sql_error(["something broke"]) is None


def test_gateway_trouble_is_infrastructure() -> None:
    trace = (
        "org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.\n"
        "Caused by: java.lang.IllegalStateException: session 42 does not exist"
    )
    for status in (404, 500, 503):
        err = gateway_error(status, ["Internal server error.", trace], "GET /x")
        assert isinstance(err, EngineError) and err.exit_code is ExitCode.INFRA
        assert "IllegalStateException: session 42 does not exist" in err.message
