"""Slot budget and sampling: jobs never exceed the run's permits, planning overlaps them."""

from __future__ import annotations

import threading
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ctt.engines.base import Capacity, EngineError, Phase, StatementHandle, StatementStatus
from ctt.engines.fake import FakeEngine, FakeScript
from ctt.flinktest.runner import FlinkTestRunner
from ctt.flinktest.slots import SlotBudget, SlotSampler
from ctt.kafka.memory import MemoryKafka
from ctt.report.model import Status
from tests.unit.flinktest.test_runner import outputs, spec


class Counting:
    """Shared counters over every engine the factory opens: sessions and jobs alive at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions = self.jobs = self.max_sessions = self.max_jobs = 0


class CountingEngine(FakeEngine):
    def __init__(self, script: FakeScript, kafka: MemoryKafka, counts: Counting) -> None:
        super().__init__(script, kafka)
        self.counts = counts
        self.gone: set[str | None] = set()
        with counts.lock:
            counts.sessions += 1
            counts.max_sessions = max(counts.max_sessions, counts.sessions)

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        handle = super().submit(sql, name=name, properties=properties)
        with self.counts.lock:
            self.counts.jobs += 1
            self.counts.max_jobs = max(self.counts.max_jobs, self.counts.jobs)
        return handle

    def status(self, handle: StatementHandle) -> StatementStatus:
        st = super().status(handle)
        if st.phase is Phase.COMPLETED:
            self._gone(handle)  # a finished job holds no slot
        return st

    def delete(self, handle: StatementHandle) -> None:
        super().delete(handle)
        self._gone(handle)

    def _gone(self, handle: StatementHandle) -> None:
        with self.counts.lock:
            if handle.job_id not in self.gone:
                self.gone.add(handle.job_id)
                self.counts.jobs -= 1

    def close(self) -> None:
        super().close()
        with self.counts.lock:
            self.counts.sessions -= 1


def test_jobs_stay_within_the_permits_while_more_tests_plan(tmp_path: Path) -> None:
    counts, kafka = Counting(), MemoryKafka()
    script = FakeScript(outputs=outputs(), pending_polls=20)
    dirs = [tmp_path / f"s{i}" for i in range(8)]
    tests = [lt for d in dirs if not d.mkdir() for lt in spec(d)]
    runner = FlinkTestRunner(
        engines=lambda: CountingEngine(script, kafka, counts),
        kafka=kafka,
        parallel=2,
        poll_s=0.001,
        sample_slots=False,
    )
    report = runner.run(tests)
    assert [t.status for t in report.tests] == [Status.PASSED] * 8, [
        (t.message, [o.details for o in t.outcomes]) for t in report.tests
    ]
    assert counts.max_jobs <= 2  # never more running jobs than permits
    assert counts.max_sessions > 2  # other tests planned meanwhile
    assert counts.jobs == counts.sessions == 0  # every permit and session given back


def test_the_run_reports_slot_use_from_the_engines_capacity(tmp_path: Path) -> None:
    kafka = MemoryKafka()
    script = FakeScript(outputs=outputs())
    runner = FlinkTestRunner(engines=lambda: FakeEngine(script, kafka), kafka=kafka, poll_s=0.001)
    report = runner.run(spec(tmp_path))
    assert report.slots is not None and report.slots.total_slots == 1
    assert report.slots.samples >= 1
    assert "of 1 busy on average" in report.slots.line()


@given(st.lists(st.tuples(st.integers(0, 8), st.integers(1, 8)), min_size=1, max_size=50))
def test_sampled_use_is_the_mean_of_busy_slots(readings: list[tuple[int, int]]) -> None:
    readings = [(min(free, total), total) for free, total in readings]
    it = iter(readings)
    sampler = SlotSampler(lambda: Capacity(free_slots=(r := next(it))[0], total_slots=r[1]))
    for _ in readings:
        assert sampler.sample()
    use = sampler.result()
    assert use is not None and use.samples == len(readings)
    busy = [total - free for free, total in readings]
    assert abs(use.mean_busy - sum(busy) / len(busy)) < 1e-9
    assert use.idle_share == sum(1 for b in busy if b == 0) / len(busy)


def test_an_engine_without_slots_stops_sampling_and_reports_nothing() -> None:
    sampler = SlotSampler(Capacity)
    assert sampler.sample() is False
    assert sampler.result() is None


def test_an_unreachable_engine_is_skipped_not_fatal() -> None:
    def down() -> Capacity:
        raise EngineError("HTTP 503")

    sampler = SlotSampler(down)
    assert sampler.sample() is True and sampler.result() is None


def test_a_waiting_permit_gives_up_when_told() -> None:
    budget = SlotBudget(1)
    budget.acquire(lambda: None)

    class Stop(Exception):
        pass

    def give_up() -> None:
        raise Stop

    try:
        budget.acquire(give_up, poll_s=0.001)
    except Stop:
        pass
    else:
        raise AssertionError("acquire should have given up")
    budget.release()
    budget.acquire(lambda: None)  # free again


def test_an_engine_that_cannot_open_leaves_the_tests_to_report_it(tmp_path: Path) -> None:
    """The sampler's own session failing (a refused token) must not lose the run's results."""
    kafka = MemoryKafka()

    def refused() -> FakeEngine:
        raise EngineError("SQL Gateway refused ctt: HTTP 401")

    report = FlinkTestRunner(engines=refused, kafka=kafka, poll_s=0.001).run(spec(tmp_path))
    (result,) = report.tests
    assert result.status is Status.ERROR and "HTTP 401" in (result.message or "")
    assert report.slots is None
