"""The selection graph: files, components, tables, topics, modules, Python files and suites.

An edge ``a -> b`` means "a change to ``a`` can break ``b``", and carries the
rule that says so (for ``--explain``): a path rule, a lineage fact, a module
use, a suite's ``requires``. Selection is then reachability from the changed
files; planning uses the ``requires`` edges between suites.

The graph lives in a ``networkx.DiGraph`` (as dbt's ``core/dbt/graph``); this
class is the small vocabulary selection and planning speak on top of it. Hot
loops read networkx's adjacency dicts (``succ``/``pred``) directly.
"""

from __future__ import annotations

import graphlib
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
    PYTHON = "py"  # a Python file (imports, tests a suite runs)
    SUITE = "suite"


_KINDS = {k.value: k for k in NodeKind}  # a dict lookup is ~10x cheaper than NodeKind(value)


def node_id(kind: NodeKind, name: str) -> str:
    return kind + ":" + name  # str concatenation: no Enum.value descriptor on the hot path


def split_node(node: str) -> tuple[NodeKind, str]:
    kind, _, name = node.partition(":")
    try:
        return _KINDS[kind], name
    except KeyError:
        raise ValueError(f"{kind!r} is not a valid NodeKind") from None


Edge = tuple[str, str, str, str]
"""(source, target, method, rule): the selector method that added it, in words."""


class Graph:
    """A directed graph with the few domain queries selection and planning need."""

    def __init__(self) -> None:
        self._g: nx.DiGraph[str] = nx.DiGraph()
        # networkx's own adjacency dicts, read directly on hot paths (its views cost ~3x).
        self._nodes: dict[str, dict[str, object]] = self._g._node  # type: ignore[attr-defined]
        self._succ: dict[str, dict[str, dict[str, str]]] = self._g._succ  # type: ignore[attr-defined]
        self._pred: dict[str, dict[str, dict[str, str]]] = self._g._pred  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def add_node(self, node: str, **attrs: object) -> None:
        self._g.add_node(node, **attrs)

    def add_edge(self, source: str, target: str, *, method: str, rule: str) -> None:
        """Add an edge; the first rule recorded for a pair wins (explanations stay stable)."""
        self.add_edges(((source, target, method, rule),))

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """Add many edges at once (first rule wins, as in :meth:`add_edge`).

        Writes networkx's adjacency dicts the way ``DiGraph.add_edges_from`` does
        (node dict, ``succ[u][v]`` and ``pred[v][u]`` sharing one data dict),
        without its per-edge overhead: graphs here have ~10^5 edges.
        """
        nodes, succ, pred = self._nodes, self._succ, self._pred
        for source, target, method, rule in edges:
            if source == target:
                continue
            out = succ.get(source)
            if out is None:
                nodes[source], out, pred[source] = {}, {}, {}
                succ[source] = out
            elif target in out:
                continue
            if target not in nodes:
                nodes[target], succ[target], pred[target] = {}, {}, {}
            data = {"method": method, "rule": rule}
            out[target] = data
            pred[target][source] = data

    def nodes(self, kind: NodeKind | None = None) -> Iterator[str]:
        prefix = f"{kind.value}:" if kind else ""
        return (n for n in self._nodes if n.startswith(prefix))

    def node_attr(self, node: str, key: str) -> object:
        return self._nodes[node].get(key)

    def edge(self, source: str, target: str) -> tuple[str, str]:
        """(method, rule) of an edge."""
        data = self._succ[source][target]
        return data["method"], data["rule"]

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ.get(node, ()))

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._pred.get(node, ()))

    def to_networkx(self) -> nx.DiGraph[str]:
        """The underlying networkx DiGraph (edges carry ``method`` and ``rule``)."""
        return self._g

    def descendants(self, node: str) -> set[str]:
        if node not in self:
            return set()
        return set(nx.descendants(self._g, node))

    def ancestors(self, node: str, *, max_depth: int | None = None) -> set[str]:
        """Nodes that reach ``node`` in at most ``max_depth`` steps (all when None)."""
        if node not in self:
            return set()
        if max_depth is None:
            return set(nx.ancestors(self._g, node))
        seen = {node}
        frontier = [node]
        for _ in range(max_depth):
            frontier = [p for n in frontier for p in self._pred[n] if p not in seen]
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
            if s in self._nodes and s not in parent:
                parent[s] = None
                queue.append(s)
        succ = self._succ
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
        succ = self._succ
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
        keep = {n for n in nodes if n in self._nodes}
        sub = Graph()
        for n in self._nodes:
            if n in keep:
                sub.add_node(n, **self._nodes[n])
        sub.add_edges(
            (u, v, d["method"], d["rule"])
            for u in sub._nodes
            for v, d in self._succ[u].items()
            if v in keep and (method is None or d["method"] == method)
        )
        return sub

    def _sorter(self) -> graphlib.TopologicalSorter[str]:
        """Edges as graphlib's "v comes after u"."""
        return graphlib.TopologicalSorter({v: list(us) for v, us in self._pred.items()})

    def find_cycle(self) -> list[str] | None:
        """One cycle as a node list (first node repeated at the end), or None."""
        # Only nodes with incoming edges can close a cycle (the rest enter as predecessors).
        linked = {v: list(us) for v, us in self._pred.items() if us}
        try:
            graphlib.TopologicalSorter(linked).prepare()
        except graphlib.CycleError as exc:
            # graphlib lists the cycle so that each node precedes the next: u -> v edges.
            return list(exc.args[1])
        return None

    def _topological_order(self) -> list[str]:
        return list(self._sorter().static_order())

    def topological_generations(self) -> list[list[str]]:
        """Levels of a DAG: every node comes after everything it has an edge from."""
        sorter = self._sorter()
        sorter.prepare()
        levels: list[list[str]] = []
        while sorter.is_active():
            level = list(sorter.get_ready())
            sorter.done(*level)
            levels.append(sorted(level))
        return levels

    def longest_path(self, weight: Callable[[str], float]) -> tuple[list[str], float]:
        """The heaviest path of a DAG by node weight: the critical path of a plan."""
        best: dict[str, tuple[float, str | None]] = {}
        for node in self._topological_order():
            incoming = [(best[p][0], p) for p in self._pred[node]]
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
        for node in reversed(self._topological_order()):
            out[node] = weight(node) + max((out[s] for s in self._succ[node]), default=0.0)
        return out
