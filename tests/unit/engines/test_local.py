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
