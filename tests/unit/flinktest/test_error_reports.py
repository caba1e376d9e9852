"""Failure reports: secrets masked at any depth, records cut, the poison record named."""

from __future__ import annotations

from ctt.engines.base import FailureCause
from ctt.flinktest import error_reports
from ctt.observed.model import InputRecord, OutputRow


def test_secrets_are_masked_at_any_depth() -> None:
    row = {"user": "a", "password": "p", "auth": {"api_key": "k"}, "x": [{"Token": 1}]}
    assert error_reports.redact(row) == {
        "user": "a",
        "password": "***",
        "auth": "***",
        "x": [{"Token": "***"}],
    }


def test_long_records_are_cut() -> None:
    rec = InputRecord(table="t", row={"s": "x" * 1000}, malformed="poison")
    shown = error_reports.show_record(rec)
    assert len(shown) < 400 and shown.endswith("chars)")


def test_failure_info_names_the_poison_record_only() -> None:
    records = [
        InputRecord(table="t", row={"q": 1}),
        InputRecord(table="t", row={"q": 0, "secret": "s"}, malformed="poison", partition=2),
        InputRecord(table="t", row=None, malformed="not_json", payload="{"),
    ]
    cause = FailureCause(exception="ArithmeticException", message="/ by zero", operator="Calc")
    info = error_reports.failure_info(cause, where="s.yaml:4", restarts=1, records=records)
    assert info["offending"] == ['t[partition 2] {"q": 0, "secret": "***"}']
    assert "SQL: s.yaml:4" in info["report"] and "restarts: 1" in info["report"]
    assert "offending record (ground truth)" in error_reports.suffix(records)
    assert error_reports.suffix(records[:1]) == ""
    assert error_reports.suffix([records[0], records[2]]) == (
        "; malformed records sent (ground truth): not_json: 1, e.g. {"
    )


def test_dlq_rows_for_the_report_are_bounded_and_masked() -> None:
    rows = [OutputRow(row={"payload": '{"password": "p", "a": 1}', "reason": "r"})] * 80
    shown = error_reports.dlq_rows(rows)
    assert len(shown) == error_reports.MAX_DLQ_ROWS
    assert '"***"' in shown[0]["payload"] and '"p"' not in shown[0]["payload"]
