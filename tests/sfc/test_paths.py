"""paths: the one data path per chain every node derives from the cluster's facts.

In: chains (from ServiceFunctionChain models through chain_of) and ClusterFacts. Out
(checked): which instance plays each element — fewest node changes, ties to the lowest node
IDs then the first pod by namespace/name; re-routing when a replica goes; reasons naming the
element when a chain cannot be rendered; claims so that two chains never share an interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contivpy.models.k8s_codec import ServiceFunction, ServiceFunctionChain, ServiceFunctionType
from contivpy.sfc.chains import Chain, chain_of
from contivpy.sfc.paths import ClusterFacts, Path, PodFacts, paths

POD = ServiceFunctionType.POD
EXT = ServiceFunctionType.EXTERNAL_INTERFACE
NODES = {"node-1": 1, "node-2": 2, "node-3": 3}


def pod_fn(
    name: str, cnf: str, interface: str = "", in_: str = "", out: str = ""
) -> ServiceFunction:
    if not (interface or in_ or out):
        interface = "tap1"
    return ServiceFunction(
        name=name,
        type=POD,
        pod_selector={"cnf": cnf},
        interface=interface,
        input_interface=in_,
        output_interface=out,
    )


def ext_fn(name: str, interface: str) -> ServiceFunction:
    return ServiceFunction(name=name, type=EXT, interface=interface)


def chain(name: str, *elements: ServiceFunction, unidirectional: bool = False) -> Chain:
    made, problems = chain_of(
        ServiceFunctionChain(
            name=name, namespace="default", unidirectional=unidirectional, chain=list(elements)
        )
    )
    assert problems == ()
    return made


def pod(
    name: str,
    cnf: str,
    node: str = "node-1",
    interfaces: Iterable[str] = ("tap1",),
    *,
    running: bool = True,
    namespace: str = "default",
) -> PodFacts:
    return PodFacts(namespace, name, {"cnf": cnf}, node, running, frozenset(interfaces))


def facts(
    *pods: PodFacts,
    external: Mapping[str, Mapping[str, str]] | None = None,
    node_ids: Mapping[str, int] | None = None,
) -> ClusterFacts:
    return ClusterFacts(list(pods), external or {}, NODES if node_ids is None else node_ids)


def played(path: Path) -> list[tuple[str, str]]:
    """(owner, node) per element."""
    assert path.rendered, path.reason
    return [(i.owner, i.node) for i in path.instances]


def only(chains: Iterable[Chain], cluster: ClusterFacts) -> Path:
    (path,) = paths(chains, cluster).values()
    return path


LINUX = chain(
    "linux-chain", pod_fn("CNF 1", "linux-cnf1", "tap1"), pod_fn("CNF 2", "linux-cnf2", "tap1")
)
VPP = chain(
    "vpp-chain",
    pod_fn("CNF 1", "vpp-cnf1", "memif1"),
    pod_fn("CNF 2", "vpp-cnf2", in_="memif1", out="memif2"),
    pod_fn("CNF 3", "vpp-cnf3", "memif1"),
)
EXTERNAL = chain(
    "external-chain",
    ext_fn("External IF 1", "vlan-200"),
    pod_fn("CNF", "vpp-cnf", in_="memif1", out="memif2"),
    ext_fn("External IF 2", "vlan-300"),
)
SEED_EXTERNAL = {
    "vlan-200": {"node-1": "GigabitEthernet0/a/0.200"},
    "vlan-300": {"node-1": "GigabitEthernet0/a/0.300"},
}


def test_seed_chains_on_one_node() -> None:
    cluster = facts(
        pod("linux-cnf1", "linux-cnf1"),
        pod("linux-cnf2", "linux-cnf2"),
        pod("vpp-cnf1", "vpp-cnf1", interfaces=["memif1"]),
        pod("vpp-cnf2", "vpp-cnf2", interfaces=["memif1", "memif2"]),
        pod("vpp-cnf3", "vpp-cnf3", interfaces=["memif1"]),
        pod("vpp-cnf", "vpp-cnf", interfaces=["memif1", "memif2"]),
        external=SEED_EXTERNAL,
    )
    found = paths([LINUX, VPP, EXTERNAL], cluster)
    assert sorted(found) == ["default/external-chain", "default/linux-chain", "default/vpp-chain"]
    assert played(found["default/linux-chain"]) == [
        ("default/linux-cnf1", "node-1"),
        ("default/linux-cnf2", "node-1"),
    ]
    vpp = found["default/vpp-chain"]
    assert played(vpp) == [
        ("default/vpp-cnf1", "node-1"),
        ("default/vpp-cnf2", "node-1"),
        ("default/vpp-cnf3", "node-1"),
    ]
    assert [(i.input, i.output) for i in vpp.instances] == [
        ("memif1", "memif1"),
        ("memif1", "memif2"),
        ("memif1", "memif1"),
    ]
    external = found["default/external-chain"]
    assert played(external) == [
        ("vlan-200", "node-1"),
        ("default/vpp-cnf", "node-1"),
        ("vlan-300", "node-1"),
    ]
    assert [(i.input, i.output) for i in external.instances] == [
        ("GigabitEthernet0/a/0.200", "GigabitEthernet0/a/0.200"),
        ("memif1", "memif2"),
        ("GigabitEthernet0/a/0.300", "GigabitEthernet0/a/0.300"),
    ]
    assert all(p.hops == 0 for p in found.values())
    assert "pod default/vpp-cnf on node-1" in external.describe()


def test_local_choice_preferred_over_lower_node_id() -> None:
    """CNF 1 runs only on node-2; CNF 2 has replicas on node-1 (lower ID) and node-2: the
    node-2 replica avoids a VXLAN hop and wins."""
    cluster = facts(
        pod("a", "linux-cnf1", "node-2"),
        pod("b-1", "linux-cnf2", "node-1"),
        pod("b-2", "linux-cnf2", "node-2"),
    )
    path = only([LINUX], cluster)
    assert played(path) == [("default/a", "node-2"), ("default/b-2", "node-2")]
    assert path.hops == 0


def test_fewest_hops_over_the_whole_chain() -> None:
    """Element 1 on node-1 would be local to element 0 but force two hops; the node-3
    replica gives one hop in all."""
    cluster = facts(
        pod("one", "vpp-cnf1", "node-1", ["memif1"]),
        pod("two-a", "vpp-cnf2", "node-1", ["memif1", "memif2"]),
        pod("two-b", "vpp-cnf2", "node-3", ["memif1", "memif2"]),
        pod("three", "vpp-cnf3", "node-3", ["memif1"]),
    )
    path = only([VPP], cluster)
    assert path.hops == 1
    # both single-hop paths exist (1,1,3) and (1,3,3): the lower IDs element by element win
    assert played(path) == [
        ("default/one", "node-1"),
        ("default/two-a", "node-1"),
        ("default/three", "node-3"),
    ]


def test_ties_go_to_lower_node_ids() -> None:
    cluster = facts(
        pod("a-3", "linux-cnf1", "node-3"),
        pod("a-2", "linux-cnf1", "node-2"),
        pod("b-3", "linux-cnf2", "node-3"),
        pod("b-2", "linux-cnf2", "node-2"),
    )
    assert played(only([LINUX], cluster)) == [("default/a-2", "node-2"), ("default/b-2", "node-2")]


def test_ties_go_to_node_ids_not_node_names() -> None:
    cluster = facts(
        pod("a-z", "linux-cnf1", "zeta"),
        pod("a-a", "linux-cnf1", "alpha"),
        pod("b", "linux-cnf2", "zeta"),
        pod("b2", "linux-cnf2", "alpha"),
        node_ids={"alpha": 9, "zeta": 4},
    )
    assert played(only([LINUX], cluster)) == [("default/a-z", "zeta"), ("default/b", "zeta")]


def test_on_one_node_the_first_pod_by_namespace_and_name() -> None:
    cluster = facts(
        pod("b", "linux-cnf1", namespace="ns-b"),
        pod("z", "linux-cnf1", namespace="ns-a"),
        pod("a", "linux-cnf1", namespace="ns-b"),
        pod("peer", "linux-cnf2"),
    )
    assert played(only([LINUX], cluster))[0] == ("ns-a/z", "node-1")


def test_a_hop_across_nodes_when_there_is_no_other_way() -> None:
    cluster = facts(pod("a", "linux-cnf1", "node-2"), pod("b", "linux-cnf2", "node-1"))
    path = only([LINUX], cluster)
    assert played(path) == [("default/a", "node-2"), ("default/b", "node-1")]
    assert path.hops == 1


def test_replica_removed_reroutes_to_another() -> None:
    pods = [
        pod("a", "linux-cnf1", "node-1"),
        pod("b-1", "linux-cnf2", "node-1"),
        pod("b-2", "linux-cnf2", "node-2"),
    ]
    assert played(only([LINUX], facts(*pods)))[1] == ("default/b-1", "node-1")
    rerouted = only([LINUX], facts(pods[0], pods[2]))
    assert played(rerouted) == [("default/a", "node-1"), ("default/b-2", "node-2")]
    assert rerouted.hops == 1
    # not running (no IP) or its interface gone count as removed
    stopped = pod("b-1", "linux-cnf2", "node-1", running=False)
    assert played(only([LINUX], facts(pods[0], stopped, pods[2])))[1][0] == "default/b-2"
    bare = pod("b-1", "linux-cnf2", "node-1", interfaces=())
    assert played(only([LINUX], facts(pods[0], bare, pods[2])))[1][0] == "default/b-2"
    # on a node without an ID yet
    moved = pod("b-1", "linux-cnf2", "node-9")
    assert played(only([LINUX], facts(pods[0], moved, pods[2])))[1][0] == "default/b-2"


def test_missing_element() -> None:
    path = only([LINUX], facts(pod("a", "linux-cnf1")))
    assert not path.rendered
    assert path.instances == ()
    assert path.reason.startswith("chain[1] ('CNF 2'):")
    assert "no pod matches cnf=linux-cnf2" in path.reason
    assert path.describe() == path.reason


def test_pods_without_ip() -> None:
    cluster = facts(pod("a", "linux-cnf1"), pod("b", "linux-cnf2", running=False))
    reason = only([LINUX], cluster).reason
    assert reason.startswith("chain[1] ('CNF 2'):")
    assert "1 pod(s) match cnf=linux-cnf2, none is running" in reason


def test_unscheduled_pods() -> None:
    cluster = facts(pod("a", "linux-cnf1", node=""), pod("b", "linux-cnf2"))
    reason = only([LINUX], cluster).reason
    assert reason.startswith("chain[0] ('CNF 1'):")
    assert "none is running on a node with an ID" in reason


def test_pods_without_the_interface() -> None:
    cluster = facts(
        pod("one", "vpp-cnf1", interfaces=["memif1"]),
        pod("two", "vpp-cnf2", interfaces=["memif1"]),  # memif2 missing
        pod("three", "vpp-cnf3", interfaces=["memif1"]),
    )
    reason = only([VPP], cluster).reason
    assert reason.startswith("chain[1] ('CNF 2'):")
    assert "none has custom interface memif1 and memif2" in reason


def test_unknown_external_interface() -> None:
    cluster = facts(
        pod("cnf", "vpp-cnf", interfaces=["memif1", "memif2"]),
        external={"vlan-200": SEED_EXTERNAL["vlan-200"]},
    )
    reason = only([EXTERNAL], cluster).reason
    assert reason.startswith("chain[2] ('External IF 2'):")
    assert "ExternalInterface 'vlan-300' does not exist" in reason


def test_external_interface_on_a_node_without_id() -> None:
    cluster = facts(
        pod("cnf", "vpp-cnf", interfaces=["memif1", "memif2"]),
        external={**SEED_EXTERNAL, "vlan-300": {"node-9": "Gig0.300"}},
    )
    reason = only([EXTERNAL], cluster).reason
    assert reason.startswith("chain[2] ('External IF 2'):")
    assert "no interface on a node with an ID" in reason


def test_external_interface_picks_the_entry_near_the_pod() -> None:
    cluster = facts(
        pod("cnf", "vpp-cnf", "node-2", ["memif1", "memif2"]),
        external={
            "vlan-200": {"node-1": "Gig1.200", "node-2": "Gig2.200"},
            "vlan-300": {"node-1": "Gig1.300", "node-2": "Gig2.300"},
        },
    )
    path = only([EXTERNAL], cluster)
    assert [(i.node, i.input) for i in path.instances] == [
        ("node-2", "Gig2.200"),
        ("node-2", "memif1"),
        ("node-2", "Gig2.300"),
    ]


def test_two_chains_one_interface_second_uses_another_replica() -> None:
    first = chain("a-chain", pod_fn("x", "x"), pod_fn("y", "y"))
    second = chain("b-chain", pod_fn("x", "x"), pod_fn("z", "z"))
    cluster = facts(
        pod("x-1", "x"),
        pod("x-2", "x", "node-2"),
        pod("y", "y"),
        pod("z", "z"),
    )
    # given in the other order: namespace/name order decides who is first
    found = paths([second, first], cluster)
    assert played(found["default/a-chain"])[0] == ("default/x-1", "node-1")
    assert played(found["default/b-chain"]) == [("default/x-2", "node-2"), ("default/z", "node-1")]


def test_two_chains_one_interface_second_says_which_chain_holds_it() -> None:
    first = chain("a-chain", pod_fn("x", "x"), pod_fn("y", "y"))
    second = chain("b-chain", pod_fn("shared", "x"), pod_fn("z", "z"))
    cluster = facts(pod("x-1", "x"), pod("y", "y"), pod("z", "z"))
    found = paths([second, first], cluster)
    assert found["default/a-chain"].rendered
    blocked = found["default/b-chain"]
    assert not blocked.rendered
    assert blocked.reason.startswith("chain[0] ('shared'):")
    assert "used by chain default/a-chain" in blocked.reason


def test_chains_in_namespace_order_before_name() -> None:
    early = ServiceFunctionChain(
        name="z", namespace="aaa", chain=[pod_fn("x", "x"), pod_fn("y", "y")]
    )
    late = ServiceFunctionChain(
        name="a", namespace="zzz", chain=[pod_fn("x", "x"), pod_fn("z", "z")]
    )
    chains = [chain_of(late)[0], chain_of(early)[0]]
    found = paths(chains, facts(pod("x", "x"), pod("y", "y"), pod("z", "z")))
    assert found["aaa/z"].rendered
    assert "used by chain aaa/z" in found["zzz/a"].reason


def test_one_pod_two_chains_on_distinct_interfaces() -> None:
    """A pod with two interfaces can serve two chains, one interface each."""
    first = chain("a-chain", pod_fn("x", "x", "if1"), pod_fn("y", "y", "tap1"))
    second = chain("b-chain", pod_fn("x", "x", "if2"), pod_fn("z", "z", "tap1"))
    cluster = facts(pod("x", "x", interfaces=["if1", "if2"]), pod("y", "y"), pod("z", "z"))
    found = paths([first, second], cluster)
    assert played(found["default/a-chain"])[0] == ("default/x", "node-1")
    assert played(found["default/b-chain"])[0] == ("default/x", "node-1")


def test_one_interface_never_plays_two_elements_of_one_chain() -> None:
    """Both elements select the same pod through the same interface: a cross-connect from
    tap1 to itself carries nothing anywhere; the chain must take another replica."""
    loop = chain("loop", pod_fn("first", "x", "tap1"), pod_fn("second", "x", "tap1"))
    cluster = facts(pod("x-1", "x"), pod("x-2", "x", "node-2"))
    owners = [owner for owner, _ in played(only([loop], cluster))]
    assert len(set(owners)) == 2, owners


def test_one_interface_alone_does_not_make_a_chain() -> None:
    loop = chain("loop", pod_fn("first", "x", "tap1"), pod_fn("second", "x", "tap1"))
    path = only([loop], facts(pod("x-1", "x")))
    assert not path.rendered
    assert path.reason.startswith("chain[1] ('second'):")


def test_paths_of_no_chains() -> None:
    assert paths([], facts(pod("a", "x"))) == {}
