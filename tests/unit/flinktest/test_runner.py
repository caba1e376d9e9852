"""The runner's logic on FakeEngine and MemoryKafka: completion, timeouts, retries, cleanup, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.spec import LoadedTest, load_spec
from ctt.engines.base import FailureCause
from ctt.engines.fake import FakeEngine, FakeScript
from ctt.flinktest.results import RunReport
from ctt.flinktest.runner import FlinkTestRunner, Listener, _flink_watermark
from ctt.kafka.memory import MemoryKafka
from ctt.kafka.record import GeneratedRecord
from ctt.report.model import ErrorKind, Status

ROWS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def spec(
    tmp_path: Path, *, completion: str = "bounded", extra: str = "", rows: str = ""
) -> list[LoadedTest]:
    path = tmp_path / "t.yaml"
    path.write_text(
        f"""flink_transformation_tests:
  t:
    flink_sql: |
      CREATE TABLE out_t AS
      SELECT id, name FROM src;
    tables:
      src:
        schema: {{id: BIGINT, name: STRING, ts: TIMESTAMP(3)}}
        watermark: "ts - INTERVAL '1' SECOND"
    test_data:
      src:
        rows:
{
            rows
            or '''          - {id: 1, name: a, ts: "2024-01-01 00:00:10"}
          - {id: 2, name: b, ts: "2024-01-01 00:00:20"}'''
        }
    expected:
      out_t:
        rows:
          - {{id: 1, name: a}}
          - {{id: 2, name: b}}
    completion: {completion}
    quiet_period: 0.2
    timeout: 3
{extra}"""
    )
    return load_spec(path)


class Harness:
    def __init__(self, script: FakeScript, listener: Listener | None = None) -> None:
        self.kafka = MemoryKafka()
        self.engines: list[FakeEngine] = []
        self.script = script

        def factory() -> FakeEngine:
            engine = FakeEngine(script, self.kafka)
            self.engines.append(engine)
            return engine

        self.runner = FlinkTestRunner(
            engines=factory, kafka=self.kafka, listener=listener, poll_s=0.001, sample_slots=False
        )

    def run(self, tests: list[LoadedTest]) -> RunReport:
        return self.runner.run(tests)

    def assert_clean(self) -> None:
        """Every job deleted, every session closed, every topic gone."""
        for engine in self.engines:
            assert engine.closed
            assert [h.name for h in engine.submitted] == engine.deleted
        assert self.kafka.topics == {}


def outputs() -> dict[str, list[dict[str, object]]]:
    return {"out_t": list(ROWS)}


@pytest.mark.parametrize("completion", ["bounded", "quiet"])
def test_a_passing_test_reports_what_it_produced_and_read(tmp_path: Path, completion: str) -> None:
    h = Harness(
        FakeScript(outputs=outputs(), columns={"out_t": [("id", "BIGINT"), ("name", "STRING")]})
    )
    report = h.run(spec(tmp_path, completion=completion))
    (result,) = report.tests
    assert result.status is Status.PASSED, (result.message, result.log)
    assert result.records_in == 2 and result.records_out == {"out_t": 2}
    assert result.metrics["records_in"] == 2 and result.metrics["records_out"] == 2
    assert report.exit_code() == 0
    h.assert_clean()


def test_a_job_that_never_finishes_times_out_and_cleans_up(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), complete=False))
    tests = spec(tmp_path)
    tests[0].test.timeout = 0.3
    (result,) = h.run(tests).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.TIMEOUT
    assert "waiting for the job to finish" in (result.message or "")
    h.assert_clean()


def test_missing_capacity_is_waited_for_and_a_lost_slot_retried(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), no_free_slot_polls=3, no_capacity_jobs=1))
    (result,) = h.run(spec(tmp_path)).tests
    assert result.status is Status.PASSED, (result.message, result.log)
    (engine,) = h.engines
    assert len(engine.submitted) == 2  # the first job got no slot
    assert any("no free slot for the job (attempt 1)" in line for line in result.log)
    h.assert_clean()


def test_capacity_that_never_comes_is_infrastructure(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), no_capacity_jobs=99))
    report = h.run(spec(tmp_path))
    (result,) = report.tests
    assert result.error_kind is ErrorKind.INFRA and "after 5 attempts" in (result.message or "")
    assert report.exit_code() == 3
    h.assert_clean()


def test_ctrl_c_cancels_and_still_deletes_jobs_and_topics(tmp_path: Path) -> None:
    h: Harness

    def listener(_test: str, phase: str) -> None:
        if phase == "producing input":
            h.runner.cancel.set()

    h = Harness(FakeScript(outputs=outputs(), complete=False), listener=listener)
    report = h.run(spec(tmp_path))
    (result,) = report.tests
    assert result.error_kind is ErrorKind.INTERRUPTED and report.exit_code() == 130
    assert h.engines[0].submitted  # the job existed, and was deleted
    h.assert_clean()


def test_sql_rejected_is_a_config_error_at_the_spec_line(tmp_path: Path) -> None:
    h = Harness(FakeScript(reject_sql="FROM src", reject_line=2))
    report = h.run(spec(tmp_path))
    (result,) = report.tests
    assert result.error_kind is ErrorKind.CONFIG and report.exit_code() == 2
    assert "t.yaml:5" in (result.message or "")  # SQL starts at line 4; the error is on its line 2
    h.assert_clean()


def test_a_rejected_statement_carries_the_users_lines_and_a_caret(tmp_path: Path) -> None:
    h = Harness(FakeScript(reject_sql="FROM src"))
    (result,) = h.run(spec(tmp_path)).tests
    # no position in the fake's message: the CTAS's query, where the view ctt sent starts
    assert (result.message or "").startswith(f"{tmp_path / 't.yaml'}:5:7: Flink rejected the SQL")
    assert (result.snippet or "").splitlines()[-2:] == [
        "5 |       SELECT id, name FROM src;",
        "  |       ^",
    ]


def test_engine_5xx_is_infrastructure(tmp_path: Path) -> None:
    h = Harness(FakeScript(unreachable={"submit"}))
    report = h.run(spec(tmp_path))
    (result,) = report.tests
    assert result.error_kind is ErrorKind.INFRA and "HTTP 503" in (result.message or "")
    assert report.exit_code() == 3
    h.assert_clean()


def test_a_job_crash_on_the_tests_data_is_a_failed_test_with_the_deepest_cause(
    tmp_path: Path,
) -> None:
    cause = FailureCause(
        exception="NullPointerException",
        message='Cannot invoke "TimestampData.getMillisecond()"',
        operator="Calc[3] -> out_t[4]: Writer (1/1)",
    )
    h = Harness(FakeScript(fail_after_polls=3, failure=cause, complete=False))
    report = h.run(spec(tmp_path))
    (result,) = report.tests
    assert result.status is Status.FAILED and result.error_kind is ErrorKind.JOB_FAILED
    assert "NullPointerException in Calc[3] -> out_t[4]: Writer (1/1)" in (result.message or "")
    assert "t.yaml:4" in (result.message or "")  # the statement that writes out_t
    assert report.exit_code() == 1
    h.assert_clean()


def test_a_job_crash_of_the_stack_is_infrastructure(tmp_path: Path) -> None:
    cause = FailureCause(exception="ConnectException", message="refused", infrastructure=True)
    h = Harness(FakeScript(fail_after_polls=3, failure=cause, complete=False))
    report = h.run(spec(tmp_path))
    assert report.tests[0].error_kind is ErrorKind.INFRA and report.exit_code() == 3


LATE_ROWS = """          - {id: 1, name: a, ts: "2024-01-01 00:00:10"}
          - {id: 2, name: b, ts: "2024-01-01 00:00:20"}
          - {id: 3, name: c, ts: "2024-01-01 00:00:05"}
          - {id: 4, name: d, ts: "2024-01-01 00:00:30"}"""


def test_a_failure_while_waiting_for_a_watermark_is_noticed_at_once(tmp_path: Path) -> None:
    cause = FailureCause(exception="ArithmeticException", message="/ by zero", operator="Calc[2]")
    # the watermark never comes; the job fails on the 4th status poll
    h = Harness(FakeScript(fail_after_polls=4, failure=cause, watermarks=[None], complete=False))
    tests = spec(tmp_path, rows=LATE_ROWS, extra="    late_rows: wait_for_watermark\n")
    tests[0].test.timeout = 30
    (result,) = h.run(tests).tests
    assert result.error_kind is ErrorKind.JOB_FAILED
    assert result.duration_s < 5  # not at the timeout
    assert any("holding back src row 3" in line for line in result.log)
    h.assert_clean()


def test_late_rows_are_sent_as_written_by_default(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), watermarks=[None]))
    (result,) = h.run(spec(tmp_path, rows=LATE_ROWS)).tests
    assert result.status is not Status.ERROR, result.message
    assert any("sent as written" in line for line in result.log)
    sent = [r.index for _t, r in h.kafka.produced]
    assert sent == [0, 1, 2, 3]  # in the order the spec lists them
    # nothing waited for a watermark
    assert not any("holding back" in line for line in result.log)


def test_held_back_rows_wait_for_the_watermark_and_the_settled_count(tmp_path: Path) -> None:
    script = FakeScript(
        outputs=outputs(),
        watermarks=[None, 1_704_067_200_000 + 19_000],
        late_dropped=1,
        unsettled_polls=3,
    )
    h = Harness(script)
    tests = spec(tmp_path, rows=LATE_ROWS, extra="    late_rows: wait_for_watermark\n")
    (result,) = h.run(tests).tests
    assert any("holding back src row 3" in line for line in result.log), result.log
    assert result.metrics["late_records_dropped"] == 1
    assert any("late records dropped (settled): 1" in line for line in result.log)


def test_quiet_completion_reads_a_settled_late_count(tmp_path: Path) -> None:
    script = FakeScript(outputs=outputs(), watermarks=[10**15], late_dropped=1, unsettled_polls=5)
    h = Harness(script)
    tests = spec(
        tmp_path, completion="quiet", rows=LATE_ROWS, extra="    late_rows: wait_for_watermark\n"
    )
    (result,) = h.run(tests).tests
    assert result.metrics["late_records_dropped"] == 1, result.log


# -- which watermark a late record waits for before it is sent -------------------------
def rec(partition: int, ts: int, wm: int | None, late: bool = True) -> GeneratedRecord:
    return GeneratedRecord(
        index=0,
        key=None,
        value=b"{}",
        fields={},
        event_time_ms=ts,
        partition=partition,
        watermark_ms=wm,
        late=late,
    )


def test_on_time_records_never_wait() -> None:
    assert _flink_watermark(rec(0, 100, 50, late=False), {0: 200}, {0}, 10) is None


def test_single_partition_waits_for_its_own_watermark() -> None:
    assert _flink_watermark(rec(0, 100, 189), {0: 200}, {0}, 10) == 189


def test_several_partitions_wait_for_the_minimum() -> None:
    # partition 1 lags: Flink's watermark is min(200, 150) - 10 - 1
    assert _flink_watermark(rec(0, 100, 189), {0: 200, 1: 150}, {0, 1}, 10) == 139


def test_a_partition_without_data_yet_means_no_wait() -> None:
    # Flink's watermark stays at its minimum until partition 1 delivers: waiting would hang
    assert _flink_watermark(rec(0, 100, 189), {0: 200}, {0, 1}, 10) is None


def test_no_job_metrics_reads_none_after_the_test(tmp_path: Path) -> None:
    """--no-job-metrics: the engine's metrics are never read (here they would fail the test)."""
    script = FakeScript(
        outputs=outputs(),
        columns={"out_t": [("id", "BIGINT"), ("name", "STRING")]},
        unreachable={"metrics"},
    )
    h = Harness(script)
    h.runner.job_metrics = False
    (result,) = h.run(spec(tmp_path)).tests
    assert result.status is Status.PASSED, (result.message, result.log)
    assert "restarts" not in result.metrics and result.metrics.get("records_in") is None
    h.runner.job_metrics = True
    (result,) = h.run(spec(tmp_path)).tests
    assert result.status is Status.ERROR and "fake metrics" in (result.message or "")
