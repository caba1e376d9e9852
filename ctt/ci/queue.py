"""A DAG-backed queue of suites: what may start now, and what a finish releases.

Shaped like dbt's ``graph/queue.py``: a suite becomes ready when all its
prerequisites are done; ready suites are handed out by priority; ``mark_done``
releases successors; a failure skips the failed suite's descendants instead of
aborting the run. Added here: resource pools (a suite holds units of named
pools while it runs) and priority by *critical path* (a suite's own expected
duration plus the longest chain of work waiting behind it), which reduces to
"longest expected first" for independent suites and keeps the makespan close
to its lower bound.

The queue is pure bookkeeping (no threads, no processes) so the scheduling
rules can be tested and simulated on their own (bench/parallel.py).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ctt.errors import ConfigError

__all__ = ["NodeState", "SuiteQueue", "simulate"]


class NodeState(StrEnum):
    WAITING = "waiting"  # prerequisites not done yet
    READY = "ready"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # a prerequisite failed, or the run was cancelled


@dataclass
class _Node:
    name: str
    expected: float
    needs: dict[str, float]
    prereqs: set[str]
    succs: set[str] = field(default_factory=set)
    state: NodeState = NodeState.WAITING
    priority: float = 0.0
    skip_reason: str | None = None


class SuiteQueue:
    """Hand out suites in dependency order, by priority, within pool capacities."""

    def __init__(
        self,
        names: Iterable[str],
        deps: Mapping[str, Iterable[str]] | None = None,
        expected: Mapping[str, float] | None = None,
        needs: Mapping[str, Mapping[str, float]] | None = None,
        pools: Mapping[str, float] | None = None,
    ) -> None:
        names = list(names)
        expected = expected or {}
        needs = needs or {}
        deps = deps or {}
        self.pools: dict[str, float] = dict(pools or {})
        self.free: dict[str, float] = dict(self.pools)
        known = set(names)
        self.nodes: dict[str, _Node] = {}
        for name in names:
            prereqs = {p for p in deps.get(name, ()) if p in known and p != name}
            self.nodes[name] = _Node(
                name=name,
                expected=max(float(expected.get(name, 0.0)), 0.0),
                needs={k: float(v) for k, v in needs.get(name, {}).items() if v > 0},
                prereqs=prereqs,
            )
        for node in self.nodes.values():
            for p in node.prereqs:
                self.nodes[p].succs.add(node.name)
            for pool, amount in node.needs.items():
                if pool in self.pools and amount > self.pools[pool]:
                    raise ConfigError(
                        f"suite {node.name!r} needs {amount:g} {pool} but the pool holds "
                        f"{self.pools[pool]:g}; it could never start"
                    )
        sorter = graphlib.TopologicalSorter({n.name: n.prereqs for n in self.nodes.values()})
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise ConfigError(f"suite dependencies form a cycle: {cycle}") from None
        for name in reversed(order):  # successors first: critical path = own + longest tail
            node = self.nodes[name]
            tail = max((self.nodes[s].priority for s in node.succs), default=0.0)
            node.priority = node.expected + tail
        self._order = {name: i for i, name in enumerate(names)}
        for node in self.nodes.values():
            if not node.prereqs:
                node.state = NodeState.READY

    # --- queries ---

    def state(self, name: str) -> NodeState:
        return self.nodes[name].state

    def skip_reason(self, name: str) -> str | None:
        return self.nodes[name].skip_reason

    def ready(self) -> list[str]:
        """Ready suites, highest priority first (ties keep plan order)."""
        ready = [n for n in self.nodes.values() if n.state is NodeState.READY]
        ready.sort(key=lambda n: (-n.priority, self._order[n.name]))
        return [n.name for n in ready]

    def running(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.state is NodeState.RUNNING]

    def finished(self) -> bool:
        """Nothing is waiting, ready or running."""
        return all(
            n.state in (NodeState.PASSED, NodeState.FAILED, NodeState.SKIPPED)
            for n in self.nodes.values()
        )

    def _fits(self, node: _Node) -> bool:
        return all(self.free.get(pool, amount) >= amount for pool, amount in node.needs.items())

    # --- transitions ---

    def take(self) -> str | None:
        """Start the highest-priority ready suite whose resources are free now.

        Lower-priority suites may start ahead of one that does not fit yet
        (backfilling), so free capacity is never left idle.
        """
        for name in self.ready():
            node = self.nodes[name]
            if self._fits(node):
                for pool, amount in node.needs.items():
                    if pool in self.free:
                        self.free[pool] -= amount
                node.state = NodeState.RUNNING
                return name
        return None

    def mark_done(self, name: str, ok: bool) -> list[str]:
        """Record a finish, free its resources; return suites skipped because of it."""
        node = self.nodes[name]
        if node.state is not NodeState.RUNNING:
            raise ValueError(f"suite {name!r} is not running ({node.state})")
        for pool, amount in node.needs.items():
            if pool in self.free:
                self.free[pool] += amount
        node.state = NodeState.PASSED if ok else NodeState.FAILED
        if not ok:
            return self._skip_descendants(name, f"prerequisite {name!r} failed")
        for succ in node.succs:
            s = self.nodes[succ]
            if s.state is NodeState.WAITING and all(
                self.nodes[p].state is NodeState.PASSED for p in s.prereqs
            ):
                s.state = NodeState.READY
        return []

    def _skip_descendants(self, name: str, reason: str) -> list[str]:
        skipped: list[str] = []
        todo = list(self.nodes[name].succs)
        while todo:
            s = self.nodes[todo.pop()]
            if s.state in (NodeState.WAITING, NodeState.READY):
                s.state = NodeState.SKIPPED
                s.skip_reason = reason
                skipped.append(s.name)
                todo.extend(s.succs)
        return sorted(skipped, key=self._order.__getitem__)

    def cancel_pending(self, reason: str) -> list[str]:
        """Skip everything not yet started (fail-fast, Ctrl-C); running suites are the caller's."""
        skipped = []
        for node in self.nodes.values():
            if node.state in (NodeState.WAITING, NodeState.READY):
                node.state = NodeState.SKIPPED
                node.skip_reason = reason
                skipped.append(node.name)
        return skipped


def simulate(
    queue: SuiteQueue, durations: Mapping[str, float], workers: int
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Run the queue on ``workers`` simulated runners; return makespan and (start, end) per suite.

    Used to compare a plan against the lower bound ``max(total / workers,
    critical path)`` without running anything.
    """
    clock = 0.0
    running: dict[str, float] = {}  # name -> end time
    spans: dict[str, tuple[float, float]] = {}
    while not queue.finished():
        while len(running) < workers:
            name = queue.take()
            if name is None:
                break
            end = clock + max(durations.get(name, 0.0), 0.0)
            running[name] = end
            spans[name] = (clock, end)
        if not running:
            break  # nothing can start: resources exhausted with nothing to free them
        name = min(running, key=lambda n: (running[n], n))
        clock = running.pop(name)
        queue.mark_done(name, ok=True)
    return clock, spans
