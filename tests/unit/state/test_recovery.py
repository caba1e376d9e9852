"""Recovery scenarios without a JVM: where the input is cut, and how the output is judged."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ctt.config.state import Guarantee, RecoveryScenario
from ctt.flinktest.recovery import (
    Recovery,
    RecoveryReport,
    local_path,
    outcome,
    retained_checkpoint,
)
from ctt.kafka.record import GeneratedRecord
from ctt.observed.model import Column, OutputRow, TableOutput, ValidationContext
from ctt.sql import ddl


def rec(i: int) -> GeneratedRecord:
    return GeneratedRecord(
        index=i,
        key=None,
        value=b"{}",
        fields={"id": i},
        event_time_ms=i,
        partition=0,
        watermark_ms=None,
        late=False,
    )


def scenario(**kw: object) -> RecoveryScenario:
    return RecoveryScenario.model_validate({"scenario": "kill_taskmanager", **kw})


@given(
    st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=10),
)
def test_split_cuts_exactly_where_steps_are_due(
    sizes: list[int], after: int, in_flight: int, sent: int
) -> None:
    n = iter(range(1000))
    segments = [[rec(next(n)) for _ in range(size)] for size in sizes]
    r = Recovery(scenario(after_records=after, in_flight=in_flight), None)
    out = r.split(segments, sent)
    assert [x.index for s in out for x in s] == [x.index for s in segments for x in s]
    boundaries, count = set(), sent
    for seg in out:
        boundaries.add(count)
        count += len(seg)
    for cut in (after, after + in_flight):
        if sent < cut < count:
            assert cut in boundaries


def table(expected: list[dict[str, int]], actual: list[dict[str, int]]) -> TableOutput:
    return TableOutput(
        table="o",
        columns=[Column(name="id", type="BIGINT")],
        records=[OutputRow(row=r) for r in actual],
        expected_rows=expected,
    )


def judged(guarantee: str, actual: list[dict[str, int]], *, fired: bool = True) -> object:
    r = Recovery(scenario(after_records=1, guarantee=guarantee), None)
    r.fired = fired
    r.report = RecoveryReport(scenario=r.scenario.scenario, fired_after_records=1, seconds=2.5)
    exp = [{"id": 1}, {"id": 2}, {"id": 3}]
    return outcome(r, ValidationContext(test="t", outputs={"o": table(exp, actual)}))


def test_exactly_once_fails_on_a_duplicate_and_counts_it() -> None:
    out = judged("exactly_once", [{"id": 1}, {"id": 2}, {"id": 2}, {"id": 3}])
    assert not out.passed  # type: ignore[attr-defined]
    assert out.properties["recovery_duplicated"] == "1"  # type: ignore[attr-defined]
    assert "0 lost, 1 duplicated" in out.summary  # type: ignore[attr-defined]


def test_at_least_once_passes_with_duplicates_counted_but_not_with_a_loss() -> None:
    dup = judged("at_least_once", [{"id": 1}, {"id": 2}, {"id": 2}, {"id": 3}])
    assert dup.passed and dup.measured == 1.0  # type: ignore[attr-defined]
    lost = judged("at_least_once", [{"id": 1}, {"id": 3}])
    assert not lost.passed and lost.properties["recovery_lost"] == "1"  # type: ignore[attr-defined]


def test_a_changed_row_and_a_fault_that_never_fired_fail() -> None:
    changed = judged("exactly_once", [{"id": 1}, {"id": 2}, {"id": 9}])
    assert not changed.passed and changed.properties["recovery_changed"] == "1"  # type: ignore[attr-defined]
    never = judged("exactly_once", [{"id": 1}, {"id": 2}, {"id": 3}], fired=False)
    assert not never.passed and "never fired" in never.summary  # type: ignore[attr-defined]


def test_exactly_once_asks_the_sink_for_transactions() -> None:
    opts = scenario(after_records=1).sink_options("t.topic")
    assert opts["sink.delivery-guarantee"] == "exactly-once"
    assert opts["sink.transactional-id-prefix"] == "t.topic"
    assert scenario(after_records=1, guarantee=Guarantee.AT_LEAST_ONCE).sink_options("x") == {}


def test_a_job_resubmitted_after_a_jobmanager_restart_writes_under_a_prefix_of_its_own() -> None:
    """The TaskManager that ran the old job may still hold its writer under the old prefix."""
    sc = scenario(after_records=1)
    first, again = sc.sink_options("t.topic"), sc.sink_options("t.topic", generation=1)
    assert again["sink.transactional-id-prefix"] == "t.topic-g1"
    assert {k: v for k, v in again.items() if k != "sink.transactional-id-prefix"} == {
        k: v for k, v in first.items() if k != "sink.transactional-id-prefix"
    }
    assert ddl.alter_options("my`table", {"a": "1", "b": "2"}) == (
        "ALTER TABLE `my``table` SET ('a' = '1', 'b' = '2')"
    )


def test_the_newest_completed_checkpoint_is_the_one_to_resubmit_from(tmp_path: Path) -> None:
    job = tmp_path / "checkpoints" / "abc"
    for n, done in ((2, True), (10, True), (11, False)):  # chk-11 was in progress at the kill
        (job / f"chk-{n}").mkdir(parents=True)
        if done:
            (job / f"chk-{n}" / "_metadata").write_bytes(b"x")
    (job / "shared").mkdir()
    assert retained_checkpoint(job) == job / "chk-10"
    assert retained_checkpoint(tmp_path / "nothing") is None


def test_flinks_external_path_reads_as_a_local_path() -> None:
    assert local_path("file:/tmp/s/chk-3") == Path("/tmp/s/chk-3")
    assert local_path("file:///tmp/s/chk-3") == Path("/tmp/s/chk-3")
    assert local_path("/tmp/s/chk-3") == Path("/tmp/s/chk-3")


def test_a_jobmanager_restart_retains_the_jobs_checkpoints() -> None:
    opts = RecoveryScenario.model_validate(
        {"scenario": "restart_jobmanager", "after_records": 5}
    ).job_options()
    assert opts == {
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"
    }
    assert scenario(after_records=5).job_options() == {}


def test_a_failed_restore_suggests_dropping_state_only_when_flink_names_unclaimed_state() -> None:
    from ctt.engines.base import FailureCause
    from ctt.flinktest.recovery import RestoreFailed

    sc = scenario(after_records=1).model_copy(
        update={"scenario": "stop_with_savepoint_and_resume", "resume_sql": "x"}
    )
    unmapped = FailureCause(
        exception="IllegalStateException",
        message="Failed to rollback to checkpoint/savepoint file:/sp. Cannot map checkpoint/"
        "savepoint state for operator 3f2a to the new program. ... --allowNonRestoredState",
    )
    err = RestoreFailed(unmapped, where="s.yaml:40", scenario=sc)
    assert str(err).startswith("resume_sql (s.yaml:40) could not restore the job's state: ")
    assert "allow_non_restored_state: true" in str(err)
    migrated = FailureCause(exception="StateMigrationException", message="incompatible serializer")
    assert "allow_non_restored_state" not in str(RestoreFailed(migrated, where="s", scenario=sc))
    already = sc.model_copy(update={"allow_non_restored_state": True})
    assert "allow_non_restored_state" not in str(RestoreFailed(unmapped, where="s", scenario=already))
