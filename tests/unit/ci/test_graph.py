from __future__ import annotations

from ctt.ci.graph import Graph, NodeKind, node_id, split_node


def _graph(*edges: tuple[str, str]) -> Graph:
    g = Graph()
    for a, b in edges:
        g.add_edge(a, b, method="m", rule=f"{a}->{b}")
    return g


def test_node_ids_round_trip() -> None:
    node = node_id(NodeKind.TOPIC, "a:b")
    assert node == "topic:a:b"
    assert split_node(node) == (NodeKind.TOPIC, "a:b")


def test_reach_records_shortest_chains_and_tolerates_cycles() -> None:
    g = _graph(("f", "x"), ("x", "y"), ("y", "x"), ("y", "s"), ("f", "s2"))
    parent = g.reach(["f", "missing"])
    assert set(parent) == {"f", "x", "y", "s", "s2"}
    assert Graph.chain(parent, "s") == ["f", "x", "y", "s"]
    assert g.edge("x", "y") == ("m", "x->y")


def test_first_rule_for_an_edge_wins_and_self_loops_are_ignored() -> None:
    g = Graph()
    g.add_edge("a", "b", method="m1", rule="first")
    g.add_edge("a", "b", method="m2", rule="second")
    g.add_edge("a", "a", method="m", rule="self")
    assert g.edge("a", "b") == ("m1", "first")
    assert g.find_cycle() is None


def test_reaches_kind_stops_early() -> None:
    g = _graph(("file:a", "rule:0"), ("rule:0", "suite:s"), ("file:b", "sql:x"))
    assert g.reaches("file:a", NodeKind.SUITE)
    assert not g.reaches("file:b", NodeKind.SUITE)


def test_ancestors_with_depth_and_descendants() -> None:
    g = _graph(("a", "b"), ("b", "c"), ("c", "d"))
    assert g.ancestors("d", max_depth=1) == {"c"}
    assert g.ancestors("d") == {"a", "b", "c"}
    assert g.descendants("b") == {"c", "d"}
    assert g.ancestors("nope") == set()


def test_subgraph_by_method_and_cycle() -> None:
    g = Graph()
    g.add_edge("a", "b", method="dependency", rule="r")
    g.add_edge("b", "a", method="lineage", rule="r")
    assert g.find_cycle() is not None
    assert g.subgraph(["a", "b"], method="dependency").find_cycle() is None
    g.add_edge("b", "c", method="dependency", rule="r")
    g.add_edge("c", "b", method="dependency", rule="r")
    cycle = g.subgraph(["a", "b", "c"], method="dependency").find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"b", "c"}


def test_longest_path_generations_and_tails() -> None:
    g = _graph(("a", "c"), ("b", "c"), ("c", "d"))
    weight = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}.__getitem__
    path, total = g.longest_path(weight)
    assert path == ["b", "c", "d"] and total == 8.0
    assert g.topological_generations() == [["a", "b"], ["c"], ["d"]]
    assert g.tail_weights(weight) == {"a": 4.0, "b": 8.0, "c": 3.0, "d": 1.0}
    assert Graph().longest_path(weight) == ([], 0.0)
