"""The DAG-backed suite queue: order, priority, pools, failure skipping, simulation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.ci.queue import NodeState, SuiteQueue, simulate
from ctt.errors import ConfigError


def test_longest_expected_first_among_independent_suites() -> None:
    q = SuiteQueue(["a", "b", "c"], expected={"a": 5, "b": 50, "c": 20})
    assert [q.take(), q.take(), q.take()] == ["b", "c", "a"]


def test_priority_counts_the_work_waiting_behind_a_suite() -> None:
    # 'short' unlocks a long chain, so it goes before the longer independent suite.
    q = SuiteQueue(
        ["lone", "short", "tail"],
        deps={"tail": ["short"]},
        expected={"lone": 30, "short": 5, "tail": 60},
    )
    assert q.take() == "short"


def test_mark_done_releases_successors_only_when_all_prerequisites_passed() -> None:
    q = SuiteQueue(["a", "b", "c"], deps={"c": ["a", "b"]})
    a, b = q.take(), q.take()
    assert {a, b} == {"a", "b"} and q.take() is None
    q.mark_done("a", ok=True)
    assert q.state("c") is NodeState.WAITING
    q.mark_done("b", ok=True)
    assert q.take() == "c"


def test_failure_skips_all_descendants_but_not_others() -> None:
    q = SuiteQueue(["a", "b", "c", "d"], deps={"b": ["a"], "c": ["b"]})
    assert {q.take(), q.take()} == {"a", "d"}
    assert q.mark_done("a", ok=False) == ["b", "c"]
    assert q.skip_reason("c") == "prerequisite 'a' failed"
    q.mark_done("d", ok=True)
    assert q.finished()


def test_pools_limit_what_runs_together() -> None:
    q = SuiteQueue(
        ["big", "small1", "small2"],
        expected={"big": 100, "small1": 10, "small2": 10},
        needs={"big": {"slots": 3}, "small1": {"slots": 1}, "small2": {"slots": 1}},
        pools={"slots": 4},
    )
    assert q.take() == "big"
    assert q.take() == "small1"
    assert q.take() is None  # 3 + 1 slots used
    q.mark_done("small1", ok=True)
    assert q.take() == "small2"


def test_unknown_prerequisites_are_ignored_and_cycles_rejected() -> None:
    q = SuiteQueue(["a"], deps={"a": ["not-selected"]})
    assert q.take() == "a"
    with pytest.raises(ConfigError, match="cycle"):
        SuiteQueue(["a", "b"], deps={"a": ["b"], "b": ["a"]})


def test_a_suite_larger_than_its_pool_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="could never start"):
        SuiteQueue(["a"], needs={"a": {"slots": 5}}, pools={"slots": 4})


def test_cancel_pending_skips_what_has_not_started() -> None:
    q = SuiteQueue(["a", "b", "c"], deps={"c": ["a"]})
    q.take()
    assert sorted(q.cancel_pending("fail-fast")) == sorted({"a", "b", "c"} - set(q.running()))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(min_value=0.1, max_value=100), min_size=1, max_size=25),
    st.integers(min_value=1, max_value=6),
    st.randoms(use_true_random=False),
)
def test_simulated_makespan_respects_bounds_and_dependencies(
    durations: list[float], workers: int, rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    names = [f"s{i}" for i in range(len(durations))]
    deps = {n: [m for m in names[:i] if rnd.random() < 0.15] for i, n in enumerate(names)}
    dur = dict(zip(names, durations, strict=True))
    q = SuiteQueue(names, deps=deps, expected=dur)
    makespan, spans = simulate(q, dur, workers)
    assert set(spans) == set(names)
    lower = max(sum(durations) / workers, max(durations))
    assert makespan >= lower - 1e-6
    assert makespan <= sum(durations) + 1e-6
    for n, prereqs in deps.items():
        for p in prereqs:
            assert spans[p][1] <= spans[n][0] + 1e-9
    # never more than `workers` at once
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    running = 0
    for _, delta in sorted(events, key=lambda x: (x[0], x[1])):
        running += delta
        assert running <= workers
