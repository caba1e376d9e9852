"""The selection graph: files, components, tables, topics, modules and suites.

The only module that imports networkx. An edge ``a -> b`` means "a change to
``a`` can break ``b``", and carries the rule that says so (for ``--explain``):
a path rule, a lineage fact, a module use, a suite's ``requires``. Selection is
then reachability from the changed files; planning uses the ``requires`` edges
between suites.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum

import networkx as nx

__all__ = ["Edge", "Graph", "NodeKind", "node_id", "split_node"]


class NodeKind(StrEnum):
    FILE = "file"
    RULE = "rule"  # a change_detection path rule
    SQL = "sql"  # a Flink SQL template
    SPEC = "spec"  # a Flink test spec (one test inside a spec file)
    TABLE = "table"
    TOPIC = "topic"
    MODULE = "module"  # a Terraform module directory
    SUITE = "suite"


def node_id(kind: NodeKind, name: str) -> str:
    return f"{kind.value}:{name}"


def split_node(node: str) -> tuple[NodeKind, str]:
    kind, _, name = node.partition(":")
    return NodeKind(kind), name


Edge = tuple[str, str, str, str]
"""(source, target, method, rule): the selector method that added it, in words."""


class Graph:
    """A directed graph with the few domain queries selection and planning need."""

    def __init__(self, graph: nx.DiGraph[str] | None = None) -> None:
        self._g: nx.DiGraph[str] = graph if graph is not None else nx.DiGraph()

    def __len__(self) -> int:
        return int(self._g.number_of_nodes())

    def __contains__(self, node: object) -> bool:
        return node in self._g

    def add_node(self, node: str, **attrs: object) -> None:
        self._g.add_node(node, **attrs)

    def add_edge(self, source: str, target: str, *, method: str, rule: str) -> None:
        """Add an edge; the first rule recorded for a pair wins (explanations stay stable)."""
        if source == target or self._g.has_edge(source, target):
            return
        self._g.add_edge(source, target, method=method, rule=rule)

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """Add many edges at once (first rule wins, as in :meth:`add_edge`)."""
        has = self._g.has_edge
        fresh: dict[tuple[str, str], dict[str, str]] = {}
        for source, target, method, rule in edges:
            key = (source, target)
            if source != target and key not in fresh and not has(source, target):
                fresh[key] = {"method": method, "rule": rule}
        self._g.add_edges_from((s, t, d) for (s, t), d in fresh.items())

    def nodes(self, kind: NodeKind | None = None) -> Iterator[str]:
        prefix = f"{kind.value}:" if kind else ""
        return (n for n in self._g.nodes if n.startswith(prefix))

    def node_attr(self, node: str, key: str) -> object:
        return self._g.nodes[node].get(key)

    def edge(self, source: str, target: str) -> tuple[str, str]:
        """(method, rule) of an edge."""
        data = self._g.edges[source, target]
        return str(data["method"]), str(data["rule"])

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._g.succ[node]) if node in self._g else iter(())

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._g.pred[node]) if node in self._g else iter(())

    def descendants(self, node: str) -> set[str]:
        return set(nx.descendants(self._g, node)) if node in self._g else set()

    def ancestors(self, node: str, *, max_depth: int | None = None) -> set[str]:
        """Nodes that reach ``node`` in at most ``max_depth`` steps (all when None)."""
        if node not in self._g:
            return set()
        if max_depth is None:
            return set(nx.ancestors(self._g, node))
        seen = {node}
        frontier = [node]
        for _ in range(max_depth):
            frontier = [p for n in frontier for p in self._g.pred[n] if p not in seen]
            seen.update(frontier)
        seen.discard(node)
        return seen

    def reach(self, sources: Iterable[str]) -> dict[str, str | None]:
        """Breadth-first reach from ``sources``: node -> the node it was first reached from.

        Sources map to None. Following the parents gives the shortest chain of
        rules from a change to anything it reaches, which is what ``--explain``
        prints. Cycles (tables written and read by the same specs) are fine.
        """
        parent: dict[str, str | None] = {}
        queue: deque[str] = deque()
        for s in sources:
            if s in self._g and s not in parent:
                parent[s] = None
                queue.append(s)
        succ = self._g.succ
        while queue:
            node = queue.popleft()
            for nxt in succ[node]:
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        return parent

    def reaches(self, node: str, kind: NodeKind) -> bool:
        """Whether some node of ``kind`` is reachable from ``node`` (stops at the first)."""
        prefix = f"{kind.value}:"
        seen = {node}
        queue = deque([node])
        succ = self._g.succ
        while queue:
            for nxt in succ[queue.popleft()]:
                if nxt.startswith(prefix):
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return False

    @staticmethod
    def chain(parent: dict[str, str | None], node: str) -> list[str]:
        """The path from a source to ``node`` recorded by :meth:`reach`."""
        out = [node]
        seen = {node}
        while (prev := parent.get(out[-1])) is not None and prev not in seen:
            out.append(prev)
            seen.add(prev)
        return out[::-1]

    def subgraph(self, nodes: Iterable[str], *, method: str | None = None) -> Graph:
        """A copy restricted to ``nodes`` (and to edges added by ``method``, when given)."""
        keep = set(nodes)
        sub: nx.DiGraph[str] = nx.DiGraph()
        sub.add_nodes_from((n, self._g.nodes[n]) for n in keep if n in self._g)
        sub.add_edges_from(
            (u, v, d)
            for u, v, d in self._g.edges(data=True)
            if u in keep and v in keep and (method is None or d.get("method") == method)
        )
        return Graph(sub)

    def find_cycle(self) -> list[str] | None:
        """One cycle as a node list (first node repeated at the end), or None."""
        try:
            edges = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return None
        return [u for u, _v, *_ in edges] + [edges[0][0]]

    def topological_generations(self) -> list[list[str]]:
        """Levels of a DAG: every node comes after everything it has an edge from."""
        return [sorted(level) for level in nx.topological_generations(self._g)]

    def longest_path(self, weight: Callable[[str], float]) -> tuple[list[str], float]:
        """The heaviest path of a DAG by node weight: the critical path of a plan."""
        best: dict[str, tuple[float, str | None]] = {}
        for node in nx.topological_sort(self._g):
            incoming = [(best[p][0], p) for p in self._g.pred[node]]
            base, prev = max(incoming, default=(0.0, None))
            best[node] = (base + weight(node), prev)
        if not best:
            return [], 0.0
        end = max(best, key=lambda n: (best[n][0], n))
        total = best[end][0]
        path: list[str] = []
        cur: str | None = end
        while cur is not None:
            path.append(cur)
            cur = best[cur][1]
        return path[::-1], total

    def tail_weights(self, weight: Callable[[str], float]) -> dict[str, float]:
        """For each node of a DAG, the heaviest path starting at it (scheduling priority)."""
        out: dict[str, float] = {}
        for node in reversed(list(nx.topological_sort(self._g))):
            out[node] = weight(node) + max((out[s] for s in self._g.succ[node]), default=0.0)
        return out
