"""PathBook: after any sequence of chain and pod changes its paths equal a derivation of every
chain from scratch, and each change names exactly the chains whose path changed (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contivpy.sfc.chains import Chain, Element, ElementKind
from contivpy.sfc.path_book import PathBook
from contivpy.sfc.paths import ClusterFacts, PodFacts, paths

NODE_IDS = {"n1": 1, "n2": 2, "n3": 3}
ROLES = ("a", "b", "c", "d")
EXTERNAL = {"ext": {"n1": "GigabitEthernet0/a/0.200", "n3": "GigabitEthernet0/a/0.200"}}


def element(index: int, role: str, single: bool = True, tier: str = "") -> Element:
    if role == "ext":
        return Element(index, role, ElementKind.EXTERNAL_INTERFACE, (), "ext", "ext")
    inner, outer = ("if1", "if1") if single else ("if1", "if2")
    selector = (("role", role), ("tier", tier)) if tier else (("role", role),)
    return Element(index, role, ElementKind.POD, selector, inner, outer)


@st.composite
def chains(draw: st.DrawFn) -> Chain:
    name = draw(st.sampled_from(("c1", "c2", "c3", "c4")))
    roles = draw(st.lists(st.sampled_from((*ROLES, "ext")), min_size=2, max_size=3))
    tiers = draw(st.lists(st.sampled_from(("", "x", "y")), min_size=3, max_size=3))
    elements = tuple(
        element(i, role, single=i in (0, len(roles) - 1), tier=tiers[i])
        for i, role in enumerate(roles)
    )
    return Chain("default", name, draw(st.booleans()), "", elements)


@st.composite
def pods(draw: st.DrawFn) -> PodFacts:
    return PodFacts(
        "default",
        draw(st.sampled_from(("p1", "p2", "p3", "p4", "p5", "p6"))),
        {"role": draw(st.sampled_from(ROLES[:2])), "tier": draw(st.sampled_from(("x", "y")))},
        draw(st.sampled_from((*NODE_IDS, "n9"))),  # n9 has no ID
        draw(st.booleans()),
        frozenset(draw(st.sets(st.sampled_from(("if1", "if2"))))),
    )


OPERATIONS = st.one_of(
    st.tuples(st.just("put_chain"), chains()),
    st.tuples(st.just("remove_chain"), st.sampled_from(("c1", "c2", "c3", "c4"))),
    st.tuples(st.just("put_pod"), pods()),
    st.tuples(st.just("remove_pod"), st.sampled_from(("p1", "p2", "p3", "p4", "p5", "p6"))),
    st.tuples(st.just("nodes"), st.sampled_from((NODE_IDS, {"n1": 1, "n2": 2}))),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OPERATIONS, max_size=25))
def test_incremental_paths_equal_a_derivation_from_scratch(
    operations: list[tuple[str, object]],
) -> None:
    book = PathBook()
    all_chains: dict[str, Chain] = {}
    all_pods: dict[str, PodFacts] = {}
    node_ids: dict[str, int] = dict(NODE_IDS)
    book.reset([], [], EXTERNAL, node_ids)
    for kind, argument in operations:
        before = dict(book.paths)
        if kind == "put_chain":
            assert isinstance(argument, Chain)
            all_chains[argument.id] = argument
            changed = book.put_chain(argument)
        elif kind == "remove_chain":
            all_chains.pop(f"default/{argument}", None)
            changed = book.remove_chain(f"default/{argument}")
        elif kind == "put_pod":
            assert isinstance(argument, PodFacts)
            all_pods[argument.name] = argument
            changed = book.put_pod(argument)
        elif kind == "remove_pod":
            all_pods.pop(str(argument), None)
            changed = book.remove_pod("default", str(argument))
        else:
            assert isinstance(argument, dict)
            node_ids = dict(argument)
            changed = book.set_cluster(EXTERNAL, node_ids)
        expected = paths(all_chains.values(), ClusterFacts(all_pods.values(), EXTERNAL, node_ids))
        assert book.paths == expected
        assert changed == {
            c for c in before.keys() | expected.keys() if before.get(c) != expected.get(c)
        }


def test_a_pod_change_derives_only_the_chains_that_select_it() -> None:
    book = PathBook()
    one = Chain("default", "one", False, "", (element(0, "a"), element(1, "b")))
    two = Chain("default", "two", False, "", (element(0, "c"), element(1, "d")))
    facts = [
        PodFacts("default", f"p-{role}", {"role": role}, "n1", True, frozenset({"if1"}))
        for role in ROLES
    ]
    book.reset([one, two], facts, {}, NODE_IDS)
    assert book.paths["default/one"].rendered
    moved = PodFacts("default", "p-a", {"role": "a"}, "n2", True, frozenset({"if1"}))
    assert book.put_pod(moved) == {"default/one"}
    assert [i.node for i in book.paths["default/one"].instances] == ["n2", "n1"]
    assert book.remove_pod("default", "p-d") == {"default/two"}
    assert not book.paths["default/two"].rendered


def test_a_pod_change_re_derives_a_chain_it_frees_an_instance_for() -> None:
    # "first" selects any role=a pod, "second" only the tier=x one: when p-y (tier y) starts
    # on the node of the rest of "first", "first" moves to it and frees p-x for "second",
    # whose selectors do not match p-y at all.
    book = PathBook()
    first = Chain("default", "first", False, "", (element(0, "a"), element(1, "b")))
    second = Chain("default", "second", False, "", (element(0, "a", tier="x"), element(1, "c")))
    p_x = PodFacts("default", "p-x", {"role": "a", "tier": "x"}, "n2", True, frozenset({"if1"}))
    p_y = PodFacts("default", "p-y", {"role": "a", "tier": "y"}, "n1", False, frozenset({"if1"}))
    b = PodFacts("default", "p-b", {"role": "b"}, "n1", True, frozenset({"if1"}))
    c = PodFacts("default", "p-c", {"role": "c"}, "n2", True, frozenset({"if1"}))
    book.reset([first, second], [p_x, p_y, b, c], {}, NODE_IDS)
    assert "used by chain default/first" in book.paths["default/second"].reason
    changed = book.put_pod(PodFacts("default", "p-y", p_y.labels, "n1", True, p_y.interfaces))
    assert changed == {"default/first", "default/second"}
    assert [i.owner for i in book.paths["default/first"].instances] == [
        "default/p-y",
        "default/p-b",
    ]
    assert [i.owner for i in book.paths["default/second"].instances] == [
        "default/p-x",
        "default/p-c",
    ]
