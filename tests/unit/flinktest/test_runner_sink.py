"""The runner's sink: wiring on FakeEngine and MemoryKafka: skipped without Connect, spec errors at
the sink's line, an unreachable worker is infrastructure, and cleanup leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from ctt.engines.fake import FakeScript
from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import ErrorKind, Status
from ctt.sink.connector import Endpoints
from tests.unit.flinktest.test_runner import Harness, outputs, spec

COLUMNS = {"out_t": [("id", "BIGINT"), ("name", "STRING")]}
# Port 9 (discard) has no listener on 127.0.0.1: connecting fails at once.
NOWHERE = Endpoints(
    connect_url="http://127.0.0.1:9",
    postgres_dsn="postgresql://ctt@127.0.0.1:9/ctt",
    jdbc_url="jdbc:postgresql://127.0.0.1:9/ctt",
)


def _harness(endpoints: Endpoints | None) -> Harness:
    h = Harness(FakeScript(outputs=outputs(), columns=COLUMNS))
    h.runner = FlinkTestRunner(
        engines=h.runner.engines,
        kafka=h.kafka,
        poll_s=0.001,
        sink_endpoints=endpoints,
        sample_slots=False,
    )
    return h


def test_a_sink_test_is_skipped_with_the_command_when_the_stack_has_no_connect(
    tmp_path: Path,
) -> None:
    h = _harness(None)
    (result,) = h.run(spec(tmp_path, extra="    sink: {table: out_t}\n")).tests
    assert result.status is Status.SKIPPED
    assert "--with connect,postgres" in (result.message or "")
    assert h.engines == [] and h.kafka.topics == {}


def test_a_sink_reading_an_output_the_sql_does_not_write_is_a_config_error_at_its_line(
    tmp_path: Path,
) -> None:
    h = _harness(NOWHERE)
    (result,) = h.run(spec(tmp_path, extra="    sink:\n      output: nope\n")).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.CONFIG
    assert "writes no table 'nope'" in (result.message or "")
    assert "t.yaml:24:7" in (result.message or ""), result.message
    h.assert_clean()


def test_an_unreachable_connect_worker_is_infrastructure_and_cleanup_still_runs(
    tmp_path: Path,
) -> None:
    h = _harness(NOWHERE)
    (result,) = h.run(spec(tmp_path, extra="    sink: {dead_letter_topic: true}\n")).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.INFRA
    assert "Kafka Connect at http://127.0.0.1:9" in (result.message or ""), result.message
    # the job's INSERT wrote Connect envelopes of the query's columns
    (engine,) = h.engines
    (job,) = engine.submitted
    assert '{"schema":{"type":"struct","name":"out_t.Value"' in job.sql
    assert "JSON_STRING(`name`)" in job.sql
    # the sink's dead-letter topic was created with the test's topics, and deleted with them
    assert any(line.startswith("[") and "deleted 3 topics" in line for line in result.log)
    h.assert_clean()


def test_a_sink_adds_its_checks_to_what_the_spec_implies(tmp_path: Path) -> None:
    from ctt.flinktest.runner import _declared_validations

    (lt,) = spec(tmp_path, extra="    sink: {table: out_t}\n")
    assert _declared_validations(lt.test) == [
        {"rows_match": True},
        {"sink_rows_match": True},
        {"sink_no_data_loss": True},
    ]
    (lt,) = spec(tmp_path, extra="    sink: {table: out_t}\n    validation: [row_count: 2]\n")
    assert _declared_validations(lt.test) == [{"row_count": 2}, {"sink_no_data_loss": True}]
