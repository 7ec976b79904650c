"""Properties of chain paths and their rendering, for random clusters and chains (issue 13).

Random clusters: 2-4 nodes with IDs, 1-12 pods (two namespaces, labels and custom interfaces
from small alphabets, some not running or not scheduled), sometimes ExternalInterfaces with an
entry on some nodes. Random chains: 2-4 elements, selectors from the same alphabet, sometimes
unidirectional, sometimes inputInterface/outputInterface, sometimes an ExternalInterface end.
Every node's part of every path is rendered (each local pod interface wired to a VPP
interface of its own, VNIs from one label -> VNI table, as the cluster-wide pool gives them).

Checked, with an evaluator independent of the renderer:

1. Following the cross-connects from the first element's output — across nodes through a
   tunnel into the tunnel of the same name on the other node — reaches every element in order
   and ends at the last element's input, and back unless unidirectional; every cross-connect
   rendered lies on some chain's path.
2. No interface is the receive side of two cross-connects (within or across chains).
3. The path is a function of the facts: any order of pods and chains gives the same paths and
   configuration, and after any sequence of pod churn the result equals a computation from
   scratch; and it is the path the documented rule gives (a brute-force reference).
4. Both ends of every crossing hop have the tunnel of that name, with mirrored addresses and
   the same VNI.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contivpy.controllers.sfc_render import NodeSide, crossing_hops, render_path, tunnel_label
from contivpy.events.types import Config
from contivpy.models.k8s_codec import ServiceFunction, ServiceFunctionChain, ServiceFunctionType
from contivpy.models.vpp_interfaces import Interface, InterfaceType, VxlanLink
from contivpy.models.vpp_l2 import XConnect
from contivpy.sfc.chains import Chain, Element, ElementKind, chain_of
from contivpy.sfc.paths import ClusterFacts, Instance, Path, PodFacts, paths

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NODES = ("n0", "n1", "n2", "n3")
LABEL_VALUES = ("x", "y", "z")
INTERFACES = ("if1", "if2", "if3")
EXTERNALS = ("ext-a", "ext-b")

#: a global interface: (node, VPP interface name)
Port = tuple[str, str]


# -- strategies -----------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ClusterFacts, list[Chain]]:
    """Chains, and a cluster where most of their Pod elements have a pod planted for them
    (random pods alone rarely complete a chain) among the random ones."""
    chains = draw(chain_sets())
    cluster = draw(clusters())
    nodes = tuple(cluster.node_ids)
    planted = [
        PodFacts(
            draw(st.sampled_from(("default", "other"))),
            f"s{index}",
            dict(element.selector),
            draw(st.sampled_from(nodes)),
            True,
            frozenset(INTERFACES),
        )
        for index, element in enumerate(
            e for c in chains for e in c.elements if e.kind is ElementKind.POD
        )
        if draw(often(4))
    ]
    return replace(cluster, pods=[*cluster.pods, *planted]), chains


@st.composite
def clusters(draw: st.DrawFn) -> ClusterFacts:
    count = draw(st.integers(2, 4))
    nodes = NODES[:count]
    ids = draw(st.lists(st.integers(1, 20), min_size=count, max_size=count, unique=True))
    node_ids = dict(zip(nodes, ids, strict=True))
    size = draw(st.integers(1, 12))
    pods = [
        _pod(f"p{index}", nodes, choice)
        for index, choice in enumerate(draw(st.lists(POD_CHOICES, min_size=size, max_size=size)))
    ]
    external = {
        name: {
            node: f"Gig{nodes.index(node)}/0/0.{100 + EXTERNALS.index(name)}"
            for node in draw(st.lists(st.sampled_from(nodes), unique=True, min_size=1))
        }
        for name in EXTERNALS
        if draw(often(10))  # now and then an ExternalInterface that does not exist
    }
    return ClusterFacts(pods, external, node_ids)


def _pod_key(pod: PodFacts) -> tuple[str, str]:
    return (pod.namespace, pod.name)


def often(one_in: int = 6) -> st.SearchStrategy[bool]:
    """False about once in ``one_in`` draws; else True."""
    # hypothesis draws the first choice (and the bounds of integers) far more often than the
    # others: the common case comes first
    return st.sampled_from(range(one_in)).map(lambda n: n != one_in - 1)


#: a pod's random parts, drawn flat (cheap): namespace, app, tier, which node (the last
#: slots: unscheduled, or on a node without an ID), running, which interfaces (the first
#: slots: all three)
POD_CHOICES = st.tuples(
    st.sampled_from(("default", "other")),
    st.sampled_from(LABEL_VALUES),
    st.sampled_from((None, *LABEL_VALUES)),
    st.sampled_from(range(10)),
    often(8),
    st.sampled_from(range(12)),
)


def _pod(
    name: str, nodes: tuple[str, ...], choice: tuple[str, str, str | None, int, bool, int]
) -> PodFacts:
    """Biased towards pods that play in chains: most are running on a node with an ID and
    have all three interfaces; ``app`` is x, y or z (no selector asks for z)."""
    namespace, app, tier, slot, running, mask = choice
    node = ("", "unknown-node")[slot - 8] if slot >= 8 else nodes[slot % len(nodes)]
    labels = {"app": app} if tier is None else {"app": app, "tier": tier}
    interfaces = (
        frozenset(INTERFACES)
        if mask < 6
        else frozenset(i for bit, i in enumerate(INTERFACES) if mask & (1 << bit))
    )
    return PodFacts(namespace, name, labels, node, running, interfaces)


@st.composite
def functions(draw: st.DrawFn, external: bool, app: str, needs_two: bool) -> ServiceFunction:
    """One element; ``needs_two``: a middle element of a bidirectional chain (two distinct
    interfaces, or chain_of rejects the chain)."""
    if external:
        return ServiceFunction(
            name="ext", type=ServiceFunctionType.EXTERNAL_INTERFACE,
            interface=draw(st.sampled_from(EXTERNALS)),
        )  # fmt: skip
    # selectors ask for x or y unless told; pods also come as z (playing in no chain)
    selector = {"app": app or draw(st.sampled_from(LABEL_VALUES[:2]))}
    if not draw(often(10)):  # a narrower selector now and then
        selector["tier"] = draw(st.sampled_from(LABEL_VALUES))
    if not needs_two and draw(st.booleans()):
        single, given_in, given_out = draw(st.sampled_from(INTERFACES)), "", ""
    else:
        single = ""
        given_in, given_out, _ = draw(st.permutations(INTERFACES))
        if not needs_two and draw(st.booleans()):
            given_out = given_in  # fine at an end or in a unidirectional chain
    return ServiceFunction(
        name=draw(st.sampled_from(("", "cnf"))),
        type=ServiceFunctionType.POD,
        pod_selector=selector,
        interface=single,
        input_interface=given_in,
        output_interface=given_out,
    )


@st.composite
def chain_models(draw: st.DrawFn, name: str, spread: bool) -> ServiceFunctionChain:
    length = draw(st.sampled_from(range(2, 5)))
    unidirectional = draw(st.booleans())
    elements = []
    for index in range(length):
        middle = 0 < index < length - 1
        # an ExternalInterface now and then: at an end, or inside a unidirectional chain
        external = (unidirectional or not middle) and not draw(often(8))
        app = LABEL_VALUES[index % len(LABEL_VALUES)] if spread else ""
        elements.append(draw(functions(external, app, middle and not unidirectional)))
    return ServiceFunctionChain(
        name=name,
        namespace=draw(st.sampled_from(("default", "other"))),
        unidirectional=unidirectional,
        chain=elements,
    )


@st.composite
def chain_sets(draw: st.DrawFn) -> list[Chain]:
    """1-3 valid chains; half the time spread: consecutive elements select different apps
    (so different pods, often on different nodes)."""
    spread = draw(st.booleans())
    found = []
    for index in range(draw(st.sampled_from(range(1, 4)))):
        chain, problems = chain_of(draw(chain_models(f"c{index}", spread)))
        assert problems == (), problems
        found.append(chain)
    return found


# -- rendering every node -------------------------------------------------------------------


def addresses(cluster: ClusterFacts) -> dict[str, str]:
    return {node: f"10.0.0.{node_id}" for node, node_id in cluster.node_ids.items()}


def vpp_name(instance: Instance, interface: str) -> str:
    """The fake wiring: a pod interface's own VPP interface on its node."""
    return f"{instance.owner}:{interface}" if instance.is_pod else interface


class Vnis:
    """label -> VNI, the same for every node (as the pool's records are)."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}

    def of(self, label: str) -> int:
        return self.table.setdefault(label, 5000 + len(self.table))


@dataclass
class Rendering:
    """Every node's configuration, and per chain per node what its path rendered there."""

    config: dict[str, Config]  # node -> merged config
    parts: dict[str, dict[str, Config]]  # chain ID -> node -> its config there


def render_all(found: Mapping[str, Path], cluster: ClusterFacts, vnis: Vnis) -> Rendering:
    rendering = Rendering({node: {} for node in cluster.node_ids}, {})
    for chain_id, path in sorted(found.items()):
        rendering.parts[chain_id] = {}
        for node in cluster.node_ids:
            side = NodeSide(node, addresses(cluster))

            def local(instance: Instance, interface: str, node: str = node) -> str | None:
                assert instance.node == node, "a remote instance's interface asked for"
                return vpp_name(instance, interface)

            hops = {
                hop: vnis.of(tunnel_label(path.chain, hop)) for hop in crossing_hops(path, node)
            }
            rendered = render_path(path, side, local, hops)
            assert rendered.waiting == [], rendered.waiting
            if not path.rendered:
                assert rendered.config == {}
            rendering.parts[chain_id][node] = rendered.config
            merged = rendering.config[node]
            clash = set(merged) & set(rendered.config)
            # property 2 across chains: another chain's value under the same key
            assert not clash, f"{chain_id} on {node} rewrites {sorted(clash)}"
            merged.update(rendered.config)
    return rendering


def xconnects(config: Config) -> dict[str, str]:
    return {
        v.receive_interface: v.transmit_interface
        for v in config.values()
        if isinstance(v, XConnect)
    }


def tunnels(config: Config) -> dict[str, VxlanLink]:
    found = {}
    for value in config.values():
        if isinstance(value, Interface) and value.type is InterfaceType.VXLAN_TUNNEL:
            assert isinstance(value.link, VxlanLink)
            found[value.name] = value.link
    return found


# -- the independent evaluator --------------------------------------------------------------


class Fabric:
    """Where a frame received on a port goes: the node's cross-connect, and through a
    tunnel to the tunnel of the same name on the node at its destination address."""

    def __init__(self, rendering: Rendering, cluster: ClusterFacts) -> None:
        self.forward = {
            (node, rx): (node, tx)
            for node, config in rendering.config.items()
            for rx, tx in xconnects(config).items()
        }
        self.tunnels = {
            (node, name): link
            for node, config in rendering.config.items()
            for name, link in tunnels(config).items()
        }
        self.node_at = {address: node for node, address in addresses(cluster).items()}
        self.used: set[Port] = set()

    def peer(self, port: Port) -> Port:
        """The other end of a tunnel (property 4: same name, mirrored ends, same VNI)."""
        node, name = port
        link = self.tunnels[port]
        assert link.vrf == 0
        assert self.node_at[link.src_address] == node
        other = self.node_at[link.dst_address]
        assert other != node, f"tunnel {name} on {node} leads to itself"
        mirror = self.tunnels.get((other, name))
        assert mirror is not None, f"tunnel {name} on {node} has no end on {other}"
        assert (mirror.src_address, mirror.dst_address) == (link.dst_address, link.src_address)
        assert mirror.vni == link.vni, f"tunnel {name}: VNI {link.vni} vs {mirror.vni}"
        return (other, name)

    def deliver(self, start: Port) -> Port:
        """Where a frame received on ``start`` leaves towards a chain element: one
        cross-connect, or one into a tunnel and one out of its far end (no loops possible
        beyond that)."""
        assert start in self.forward, f"nothing forwards what {start} receives"
        self.used.add(start)
        out = self.forward[start]
        if out not in self.tunnels:
            return out
        far = self.peer(out)
        assert far in self.forward, f"tunnel {far} delivers nowhere"
        self.used.add(far)
        end = self.forward[far]
        assert end not in self.tunnels, f"{far} cross-connected into another tunnel"
        return end


def port(instance: Instance, interface: str) -> Port:
    return (instance.node, vpp_name(instance, interface))


def check_walks(found: Mapping[str, Path], rendering: Rendering, cluster: ClusterFacts) -> None:
    """Properties 1 and 4: each rendered path is carried, element by element, both ways."""
    fabric = Fabric(rendering, cluster)
    for path in found.values():
        if not path.rendered:
            continue
        instances = path.instances
        for a, b in itertools.pairwise(instances):
            assert fabric.deliver(port(a, a.output)) == port(b, b.input), path.describe()
            if not path.chain.unidirectional:
                assert fabric.deliver(port(b, b.input)) == port(a, a.output), path.describe()
        # the ends lead nowhere else: the first element's input and the last one's output
        # are not cross-connected unless they are the interface the path uses
        first, last = instances[0], instances[-1]
        if first.input != first.output:
            assert port(first, first.input) not in fabric.forward
        if last.input != last.output:
            assert port(last, last.output) not in fabric.forward
    every = set(fabric.forward)
    assert every == fabric.used, f"cross-connects on no chain's path: {every - fabric.used}"
    for tunnel in fabric.tunnels:
        fabric.peer(tunnel)


def check_paths_valid(
    chains: list[Chain], found: Mapping[str, Path], cluster: ClusterFacts
) -> None:
    """Every instance plays its element; no interface plays twice (property 2)."""
    assert sorted(found) == sorted(c.id for c in chains)
    pods = {f"{p.namespace}/{p.name}": p for p in cluster.pods}
    taken: dict[tuple[str, str], str] = {}
    for chain_id, path in sorted(found.items()):
        if not path.rendered:
            assert path.reason.startswith("chain["), path.reason
            continue
        assert len(path.instances) == len(path.chain.elements)
        for element, instance in zip(path.chain.elements, path.instances, strict=True):
            assert instance.node_id == cluster.node_ids[instance.node]
            if element.kind is ElementKind.POD:
                pod = pods[instance.owner]
                assert pod.running
                assert pod.node == instance.node
                assert element.selects(dict(pod.labels))
                assert {element.input, element.output} <= pod.interfaces
            else:
                assert cluster.external[element.input][instance.node] == instance.input
            for interface in {instance.input, instance.output}:
                key = (instance.owner, interface)
                assert key not in taken, f"{key} plays in {taken[key]} and in {chain_id}"
                taken[key] = chain_id


# -- a brute-force reference of the documented rule -----------------------------------------


def reference(chains: list[Chain], cluster: ClusterFacts) -> dict[str, tuple[Instance, ...]]:
    """Chains in ID order; each takes, among the assignments of free instances that use no
    interface twice, the one with the fewest node changes, then element by element the
    lowest node ID and the first owner."""
    claimed: set[tuple[str, str]] = set()
    result: dict[str, tuple[Instance, ...]] = {}
    for chain in sorted(chains, key=lambda c: c.id):
        options = [
            [i for i in _players(e, cluster) if not _keys(i) & claimed] for e in chain.elements
        ]
        best: tuple[int, tuple[Instance, ...]] | None = None
        for choice in itertools.product(*options):
            keys = [_keys(i) for i in choice]
            if sum(len(k) for k in keys) != len(set().union(*keys)):
                continue
            hops = sum(a.node != b.node for a, b in itertools.pairwise(choice))
            if best is None or (hops, choice) < best:
                best = (hops, choice)
        result[chain.id] = best[1] if best else ()
        if best:
            claimed.update(*(_keys(i) for i in best[1]))
    return result


def _keys(instance: Instance) -> set[tuple[str, str]]:
    return {(instance.owner, instance.input), (instance.owner, instance.output)}


def _players(element: Element, cluster: ClusterFacts) -> list[Instance]:
    found = []
    if element.kind is ElementKind.EXTERNAL_INTERFACE:
        for node, vpp in cluster.external.get(element.input, {}).items():
            if node in cluster.node_ids:
                found.append(
                    Instance(cluster.node_ids[node], node, element.input, element.kind, vpp, vpp)
                )
        return sorted(found)
    for pod in cluster.pods:
        if (
            pod.running
            and pod.node in cluster.node_ids
            and element.selects(dict(pod.labels))
            and {element.input, element.output} <= pod.interfaces
        ):
            found.append(
                Instance(
                    cluster.node_ids[pod.node],
                    pod.node,
                    f"{pod.namespace}/{pod.name}",
                    element.kind,
                    element.input,
                    element.output,
                )
            )
    return sorted(found)


# -- the properties -------------------------------------------------------------------------


@PROPERTIES
@given(scenario=scenarios())
def test_rendered_paths_carry_every_chain_and_nothing_else(
    scenario: tuple[ClusterFacts, list[Chain]],
) -> None:
    cluster, chains = scenario
    found = paths(chains, cluster)
    rendered = [p for p in found.values() if p.rendered]
    event(f"rendered {len(rendered)} of {len(found)}")
    event(f"hops {sorted(p.hops for p in rendered)}")
    check_paths_valid(chains, found, cluster)
    expected = reference(chains, cluster)
    assert {k: p.instances for k, p in found.items()} == expected
    rendering = render_all(found, cluster, Vnis())
    for chain_id, per_node in rendering.parts.items():
        path = found[chain_id]
        for node, config in per_node.items():
            # property 2 within a chain: as many cross-connects as the hops here need
            assert len(xconnects(config)) == _expected_xconnects(path, node)
    check_walks(found, rendering, cluster)


def _expected_xconnects(path: Path, node: str) -> int:
    ways = 1 if path.chain.unidirectional else 2
    count = 0
    for a, b in itertools.pairwise(path.instances):
        if node in (a.node, b.node):  # a local hop, or this node's end of a crossing one
            count += ways
    return count


Churn = tuple[str, int, str]  # (what, pod index, argument)


def churn_steps(cluster: ClusterFacts) -> st.SearchStrategy[list[Churn]]:
    nodes = sorted(cluster.node_ids)
    return st.lists(
        st.tuples(
            st.sampled_from(("add", "remove", "relabel", "move", "stop", "interfaces")),
            st.integers(0, 11),
            st.sampled_from((*nodes, *LABEL_VALUES, *INTERFACES)),
        ),
        max_size=8,
    )


def apply(pods: dict[tuple[str, str], PodFacts], step: Churn, nodes: list[str]) -> None:
    what, index, argument = step
    key = ("default", f"churn{index}")
    existing = sorted(pods)
    target = existing[index % len(existing)] if existing else None
    if what == "add":
        node = argument if argument in nodes else nodes[index % len(nodes)]
        pods[key] = PodFacts(
            *key,
            {"app": LABEL_VALUES[index % 3]},
            node,
            True,
            frozenset(INTERFACES[: 1 + index % 3]),
        )
    elif target is None:
        return
    elif what == "remove":
        del pods[target]
    elif what == "relabel":
        value = argument if argument in LABEL_VALUES else "z"
        pods[target] = replace(pods[target], labels={**pods[target].labels, "app": value})
    elif what == "move":
        pods[target] = replace(pods[target], node=argument if argument in nodes else "")
    elif what == "stop":
        pods[target] = replace(pods[target], running=not pods[target].running)
    else:
        interface = argument if argument in INTERFACES else INTERFACES[0]
        pods[target] = replace(pods[target], interfaces=pods[target].interfaces ^ {interface})


@PROPERTIES
@given(data=st.data(), scenario=scenarios())
def test_paths_and_renders_are_independent_of_history_and_order(
    data: st.DataObject, scenario: tuple[ClusterFacts, list[Chain]]
) -> None:
    cluster, chains = scenario
    pods = {_pod_key(p): p for p in cluster.pods}
    nodes = sorted(cluster.node_ids)
    vnis = Vnis()  # one pool for the whole history, as the cluster's is (its records persist)
    previous = paths(chains, cluster)
    before = render_all(previous, cluster, vnis)
    for step in data.draw(churn_steps(cluster)):
        apply(pods, step, nodes)
        state = replace(cluster, pods=list(pods.values()))
        found = paths(chains, state)
        rendering = render_all(found, state, vnis)
        # a chain whose path the churn left alone keeps every value on every node (only the
        # changed chains' cross-connects and tunnels are touched)
        for chain_id, path in found.items():
            if path == previous[chain_id]:
                assert rendering.parts[chain_id] == before.parts[chain_id]
        previous, before = found, rendering
    final = replace(cluster, pods=list(pods.values()))
    scratch = paths(chains, final)
    assert previous == scratch
    shuffled_pods = data.draw(st.permutations(list(pods.values())))
    shuffled_chains = data.draw(st.permutations(chains))
    again = paths(shuffled_chains, replace(final, pods=iter(shuffled_pods)))
    assert again == scratch
    # the same configuration on every node whatever the history of the VNI pool, as long as
    # both ends read the same table
    incremental = render_all(scratch, final, vnis)
    fresh = Vnis()
    fresh.table = dict(vnis.table)
    assert render_all(again, final, fresh).config == incremental.config
    check_paths_valid(chains, scratch, final)
    check_walks(scratch, incremental, final)
