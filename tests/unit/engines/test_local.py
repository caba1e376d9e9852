"""LocalEngine's reads of Flink's REST metrics, with the REST client replaced (no JVM)."""

from __future__ import annotations

from typing import Any

import pytest

import ctt.engines.local as local
from ctt.engines.base import StatementHandle
from ctt.engines.local import LocalEngine

JOB = {
    "plan": {"nodes": [{"id": "src"}, {"id": "agg", "inputs": [{"id": "src"}]}]},
    "vertices": [
        {"id": "src", "metrics": {"write-records": 6}},
        {"id": "agg", "metrics": {"read-records": 6}},
    ],
}
WM = "0.Source__user_events[1].currentOutputWatermark"
IN = "0.Source__user_events[1].numRecordsIn"
LATE = "0.GroupWindowAggregate[3].numLateRecordsDropped"


class FakeRest:
    """Lists a vertex's metrics as Flink does while its tasks start: a few first, then more."""

    def __init__(self, listings: dict[str, list[list[str]]], values: dict[str, str]) -> None:
        self.listings, self.values = listings, values
        self.lists = dict.fromkeys(listings, 0)

    def job(self, _job_id: str) -> dict[str, Any]:
        return JOB

    def vertex_metrics(
        self, _job_id: str, vertex_id: str, names: list[str] | None = None
    ) -> dict[str, str]:
        if names:
            return {n: self.values[n] for n in names if n in self.values}
        self.lists[vertex_id] += 1
        shown = self.listings[vertex_id]
        return dict.fromkeys(shown[min(self.lists[vertex_id], len(shown)) - 1], "")


@pytest.fixture(autouse=True)
def _no_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "SqlGateway", lambda *_a, **_k: None)


def _engine(rest: FakeRest) -> tuple[LocalEngine, StatementHandle]:
    engine = LocalEngine("http://127.0.0.1:1", "http://127.0.0.1:1", clock=lambda: 0.0)
    engine.rest = rest  # type: ignore[assignment]
    return engine, StatementHandle(name="t", sql="", job_id="j")


def test_a_metric_list_read_while_tasks_start_is_read_again() -> None:
    """The watermark barrier's first read saw only task metrics; it must not stay blind."""
    rest = FakeRest(
        {"src": [["0.numRecordsIn", "0.buffers.inputQueueLength"], ["0.numRecordsIn", WM]]},
        {WM: "1767265795000"},
    )
    engine, handle = _engine(rest)
    assert engine.watermark(handle) is None  # not registered yet
    assert engine.watermark(handle) == 1767265795000
    assert engine.watermark(handle) == 1767265795000
    assert rest.lists["src"] == 2  # listed again only while the metric was missing


def test_a_late_counter_registered_after_the_first_read_is_counted() -> None:
    """A window operator registers numLateRecordsDropped when it opens, after its other metrics."""
    agg_early = ["0.GroupWindowAggregate[3].numRecordsIn"]
    rest = FakeRest(
        {"src": [[IN, WM]], "agg": [agg_early, [*agg_early, LATE]]},
        {WM: "1", IN: "6", LATE: "1"},
    )
    engine, handle = _engine(rest)
    ticks = iter(range(100))
    engine._clock = lambda: float(next(ticks))  # a second per read: past the settle interval
    counts = [engine.settled_late_count(handle, min_source_records=6) for _ in range(4)]
    settled = [c.dropped for c in counts if c is not None]
    assert settled and set(settled) == {1}  # never the 0 of the list read before the counter


class RestartRest(FakeRest):
    """A job's numRestarts and exception history (newest first, epoch-ms timestamps)."""

    def __init__(self, num_restarts: str | None, history: list[int]) -> None:
        super().__init__({}, {})
        self.num_restarts, self.history = num_restarts, history

    def job_metrics(self, _job_id: str, _names: list[str]) -> dict[str, str]:
        return {} if self.num_restarts is None else {"numRestarts": self.num_restarts}

    def exception_history(self, _job_id: str) -> list[dict[str, Any]]:
        return [
            {"timestamp": t, "exceptionName": "X", "stacktrace": "java.lang.RuntimeException: x"}
            for t in sorted(self.history, reverse=True)
        ]


@pytest.mark.parametrize(
    ("num_restarts", "history", "state", "want"),
    [
        ("3", [1, 2], "RUNNING", 3),  # the history keeps the last failures only
        ("0", [1], "RUNNING", 0),  # failed a moment ago, not restarted yet
        ("0", [1, 2, 3], "FINISHED", 3),  # a finished bounded job reported numRestarts 0
        ("5", [1, 2, 3], "FINISHED", 5),
        (None, [1, 2, 3], "FAILED", 2),  # the last failure ended the job: not a restart
    ],
)
def test_restarts_take_the_larger_of_numrestarts_and_the_history(
    num_restarts: str | None, history: list[int], state: str, want: int
) -> None:
    engine, _ = _engine(RestartRest(num_restarts, history))
    assert engine.restarts("j", state) == want


def test_failures_come_oldest_first_in_unix_seconds() -> None:
    engine, handle = _engine(RestartRest(None, [3000, 1500]))
    got = engine.failures(handle)
    assert [f.at for f in got] == [1.5, 3.0]
    assert got[0].cause is not None and got[0].cause.exception == "RuntimeException"


class CountingRest(FakeRest):
    """Counts job-detail reads; the job is RUNNING with every task deployed."""

    def __init__(self) -> None:
        super().__init__({"src": [[WM]]}, {WM: "5"})
        self.reads = 0

    def job(self, _job_id: str) -> dict[str, Any]:
        self.reads += 1
        running = [{**v, "status": "RUNNING"} for v in JOB["vertices"]]  # type: ignore[dict-item]
        return {**JOB, "state": "RUNNING", "vertices": running}


def test_a_probe_right_after_the_status_check_reuses_its_read_and_a_later_one_does_not() -> None:
    """Flink caches job details for web.refresh-interval: a second read within it is waste."""
    rest = CountingRest()
    engine, handle = _engine(rest)
    now = [0.0]
    engine._clock = lambda: now[0]
    engine.status(handle)
    assert engine.watermark(handle) == 5
    assert rest.reads == 1
    now[0] += local.JOB_REUSE_S
    assert engine.watermark(handle) == 5
    engine.status(handle)  # a status check always asks Flink
    assert rest.reads == 3
