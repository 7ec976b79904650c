"""The graph's indexes and journal."""

from __future__ import annotations

from contivpy.scheduler import Dependency
from contivpy.scheduler.graph import Graph


def test_dependents_by_exact_key_and_any_of_prefix() -> None:
    graph = Graph()
    a = graph.add("x/a", None, None)
    a.deps = (Dependency("l", key="x/b"),)
    graph.reindex(a)
    c = graph.add("x/c", None, None)
    c.deps = (Dependency("l", any_of=("y/", "x/b")),)
    graph.reindex(c)
    assert graph.dependents("x/b") == {"x/a", "x/c"}
    assert graph.dependents("y/anything") == {"x/c"}
    assert graph.dependents("x/bb") == {"x/c"}  # a prefix, not a key
    assert graph.dependents("z") == set()
    a.deps = ()
    graph.reindex(a)
    assert graph.dependents("x/b") == {"x/c"}


def test_keys_with_prefix_follows_adds_and_removes() -> None:
    graph = Graph()
    for i in range(100):
        graph.add(f"k/{i:03}", None, None)
    assert list(graph.keys_with_prefix("k/01")) == [f"k/01{i}" for i in range(10)]
    graph.remove(graph.nodes["k/012"])
    graph.add("k/0125", None, None)
    assert list(graph.keys_with_prefix("k/012")) == ["k/0125"]
    for i in range(100):
        if f"k/{i:03}" in graph.nodes:
            graph.remove(graph.nodes[f"k/{i:03}"])
    assert list(graph.keys_with_prefix("k/")) == ["k/0125"]


def test_rollback_restores_nodes_and_indexes() -> None:
    graph = Graph()
    a = graph.add("a", None, None)
    a.deps = (Dependency("l", key="b"),)
    graph.reindex(a)
    graph.begin_journal()
    graph.touch(a)
    a.deps = (Dependency("l", key="c"),)
    a.desired = "changed"
    graph.reindex(a)
    graph.add("new", None, None)
    graph.remove(a)
    graph.rollback()
    assert set(graph.nodes) == {"a"}
    assert graph.nodes["a"].desired is None
    assert graph.dependents("b") == {"a"}
    assert graph.dependents("c") == set()
    assert list(graph.keys_with_prefix("")) == ["a"]
