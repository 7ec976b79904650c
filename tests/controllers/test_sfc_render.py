"""render_path: one node's cross-connects and VXLAN tunnels for a chain's path.

In: paths computed by contivpy.sfc.paths from cluster facts, a NodeSide, a fake
``local_interface`` (which VPP interface each local pod interface is) and VNIs. Out
(checked): the VPP values each node holds — which interface's frames go where, which tunnels
exist with which ends and VNI — and the hops a node waits on.
"""

from __future__ import annotations

from collections.abc import Mapping

from contivpy.controllers.sfc_render import (
    NodeSide,
    Rendered,
    crossing_hops,
    render_path,
    tunnel_label,
)
from contivpy.events.types import Config
from contivpy.models.k8s_codec import ServiceFunction, ServiceFunctionChain, ServiceFunctionType
from contivpy.models.vpp_interfaces import Interface, InterfaceType, VxlanLink
from contivpy.models.vpp_l2 import XConnect
from contivpy.sfc.chains import Chain, chain_of
from contivpy.sfc.paths import ClusterFacts, Instance, Path, PodFacts, paths

POD = ServiceFunctionType.POD
EXT = ServiceFunctionType.EXTERNAL_INTERFACE
NODE_IDS = {"node-1": 1, "node-2": 2}
ADDRESSES = {"node-1": "192.168.16.1", "node-2": "192.168.16.2"}


def pod_fn(cnf: str, interface: str = "", in_: str = "", out: str = "") -> ServiceFunction:
    return ServiceFunction(
        name=cnf,
        type=POD,
        pod_selector={"cnf": cnf},
        interface=interface,
        input_interface=in_,
        output_interface=out,
    )


def seed_vpp_chain() -> Chain:
    """Seed 000's chain of three VPP CNFs: memif1, memif1 -> memif2, memif1."""
    return make_chain(
        "vpp-chain",
        pod_fn("cnf1", "memif1"),
        pod_fn("cnf2", in_="memif1", out="memif2"),
        pod_fn("cnf3", "memif1"),
    )


def make_chain(
    name: str, *elements: ServiceFunction, unidirectional: bool = False, namespace: str = "default"
) -> Chain:
    chain, problems = chain_of(
        ServiceFunctionChain(
            name=name, namespace=namespace, unidirectional=unidirectional, chain=list(elements)
        )
    )
    assert problems == ()
    return chain


def path_of(
    chain: Chain, *pods: PodFacts, external: Mapping[str, Mapping[str, str]] | None = None
) -> Path:
    path = paths([chain], ClusterFacts(list(pods), external or {}, NODE_IDS))[chain.id]
    assert path.rendered, path.reason
    return path


def pod(name: str, node: str, *interfaces: str) -> PodFacts:
    return PodFacts("default", name, {"cnf": name}, node, True, frozenset(interfaces))


class Wiring:
    """A fake local_interface: (owner, interface) -> VPP name, only for pods on ``node``
    that are wired; external interfaces are their own VPP names."""

    def __init__(self, node: str, unwired: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.node = node
        self.unwired = unwired

    def __call__(self, instance: Instance, interface: str) -> str | None:
        assert instance.node == self.node, "asked for a remote instance's interface"
        if not instance.is_pod:
            return interface
        if (instance.owner, interface) in self.unwired:
            return None
        return f"{instance.owner.split('/')[1]}:{interface}"


def render(path: Path, node: str, vnis: Mapping[int, int] | None = None, **kw: object) -> Rendered:
    unwired = kw.get("unwired", frozenset())
    assert isinstance(unwired, frozenset)
    return render_path(path, NodeSide(node, ADDRESSES), Wiring(node, unwired), vnis or {})


def xconnects(config: Config) -> dict[str, str]:
    """receive interface -> transmit interface."""
    found = {}
    for value in config.values():
        if isinstance(value, XConnect):
            found[value.receive_interface] = value.transmit_interface
    return found


def tunnels(config: Config) -> dict[str, Interface]:
    return {
        v.name: v
        for v in config.values()
        if isinstance(v, Interface) and v.type is InterfaceType.VXLAN_TUNNEL
    }


LINUX = make_chain("linux-chain", pod_fn("cnf1", "tap1"), pod_fn("cnf2", "tap1"))


def test_both_ends_local_two_xconnects() -> None:
    path = path_of(LINUX, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-1", "tap1"))
    rendered = render(path, "node-1")
    assert rendered.waiting == []
    assert xconnects(rendered.config) == {"cnf1:tap1": "cnf2:tap1", "cnf2:tap1": "cnf1:tap1"}
    assert tunnels(rendered.config) == {}
    assert crossing_hops(path, "node-1") == []
    # nothing of it on the other node
    assert render(path, "node-2").config == {}


def test_both_ends_local_unidirectional_one_xconnect() -> None:
    chain = make_chain("uni", pod_fn("cnf1", "tap1"), pod_fn("cnf2", "tap1"), unidirectional=True)
    path = path_of(chain, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-1", "tap1"))
    assert xconnects(render(path, "node-1").config) == {"cnf1:tap1": "cnf2:tap1"}


def test_seed_vpp_chain_on_one_node() -> None:
    chain = seed_vpp_chain()
    path = path_of(
        chain,
        pod("cnf1", "node-1", "memif1"),
        pod("cnf2", "node-1", "memif1", "memif2"),
        pod("cnf3", "node-1", "memif1"),
    )
    assert xconnects(render(path, "node-1").config) == {
        "cnf1:memif1": "cnf2:memif1",
        "cnf2:memif1": "cnf1:memif1",
        "cnf2:memif2": "cnf3:memif1",
        "cnf3:memif1": "cnf2:memif2",
    }


def test_seed_external_chain_uses_the_vlan_subinterfaces() -> None:
    chain = make_chain(
        "external-chain",
        ServiceFunction(name="in", type=EXT, interface="vlan-200"),
        pod_fn("cnf", in_="memif1", out="memif2"),
        ServiceFunction(name="out", type=EXT, interface="vlan-300"),
    )
    path = path_of(
        chain,
        pod("cnf", "node-1", "memif1", "memif2"),
        external={
            "vlan-200": {"node-1": "GigabitEthernet0/a/0.200"},
            "vlan-300": {"node-1": "GigabitEthernet0/a/0.300"},
        },
    )
    assert xconnects(render(path, "node-1").config) == {
        "GigabitEthernet0/a/0.200": "cnf:memif1",
        "cnf:memif1": "GigabitEthernet0/a/0.200",
        "cnf:memif2": "GigabitEthernet0/a/0.300",
        "GigabitEthernet0/a/0.300": "cnf:memif2",
    }


def test_hop_across_nodes_tunnel_on_each_side() -> None:
    path = path_of(LINUX, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-2", "tap1"))
    assert crossing_hops(path, "node-1") == [0]
    assert crossing_hops(path, "node-2") == [0]
    name = tunnel_label(path.chain, 0)
    assert name == "sfc-linux-chain-0"
    one = render(path, "node-1", {0: 5001}).config
    two = render(path, "node-2", {0: 5001}).config
    assert tunnels(one) == {
        name: Interface(
            name,
            InterfaceType.VXLAN_TUNNEL,
            link=VxlanLink("192.168.16.1", "192.168.16.2", 5001, 0),
        )
    }
    assert tunnels(two) == {
        name: Interface(
            name,
            InterfaceType.VXLAN_TUNNEL,
            link=VxlanLink("192.168.16.2", "192.168.16.1", 5001, 0),
        )
    }
    assert xconnects(one) == {"cnf1:tap1": name, name: "cnf1:tap1"}
    assert xconnects(two) == {name: "cnf2:tap1", "cnf2:tap1": name}


def test_hop_across_nodes_unidirectional_direction() -> None:
    chain = make_chain("uni", pod_fn("cnf1", "tap1"), pod_fn("cnf2", "tap1"), unidirectional=True)
    path = path_of(chain, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-2", "tap1"))
    # the sender forwards into the tunnel; the receiver out of it; nothing flows back
    assert xconnects(render(path, "node-1", {0: 7}).config) == {"cnf1:tap1": "sfc-uni-0"}
    assert xconnects(render(path, "node-2", {0: 7}).config) == {"sfc-uni-0": "cnf2:tap1"}


def test_tunnel_in_the_main_vrf_and_named_after_namespace_and_hop() -> None:
    chain = make_chain(
        "c",
        pod_fn("cnf1", "memif1"),
        pod_fn("cnf2", in_="memif1", out="memif2"),
        pod_fn("cnf3", "memif1"),
        namespace="prod",
    )
    path = path_of(
        chain,
        pod("cnf1", "node-1", "memif1"),
        pod("cnf2", "node-1", "memif1", "memif2"),
        pod("cnf3", "node-2", "memif1"),
    )
    assert crossing_hops(path, "node-1") == [1]
    rendered = render_path(
        path, NodeSide("node-1", ADDRESSES, main_vrf=3), Wiring("node-1"), {1: 9}
    )
    (tunnel,) = tunnels(rendered.config).values()
    assert tunnel.name == "sfc-prod.c-1"
    assert isinstance(tunnel.link, VxlanLink)
    assert (tunnel.link.vni, tunnel.link.vrf) == (9, 3)
    assert xconnects(rendered.config) == {
        "cnf1:memif1": "cnf2:memif1",
        "cnf2:memif1": "cnf1:memif1",
        "cnf2:memif2": "sfc-prod.c-1",
        "sfc-prod.c-1": "cnf2:memif2",
    }


def test_local_pod_not_wired_yet_waits_and_renders_nothing_for_that_hop() -> None:
    chain = seed_vpp_chain()
    path = path_of(
        chain,
        pod("cnf1", "node-1", "memif1"),
        pod("cnf2", "node-1", "memif1", "memif2"),
        pod("cnf3", "node-2", "memif1"),
    )
    rendered = render(path, "node-1", {1: 9}, unwired=frozenset({("default/cnf2", "memif2")}))
    # hop 0 (cnf1 -> cnf2 memif1) is rendered, hop 1 (memif2 -> tunnel) waits: no tunnel yet
    assert xconnects(rendered.config) == {
        "cnf1:memif1": "cnf2:memif1",
        "cnf2:memif1": "cnf1:memif1",
    }
    assert tunnels(rendered.config) == {}
    assert len(rendered.waiting) == 1
    assert rendered.waiting[0].startswith("hop 1:")
    assert "default/cnf2" in rendered.waiting[0]
    assert "memif2" in rendered.waiting[0]


def test_local_pod_not_wired_on_a_local_hop() -> None:
    path = path_of(LINUX, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-1", "tap1"))
    rendered = render(path, "node-1", unwired=frozenset({("default/cnf1", "tap1")}))
    assert rendered.config == {}
    assert [w.split(":")[0] for w in rendered.waiting] == ["hop 0"]


def test_tunnel_without_vni_or_address_waits() -> None:
    path = path_of(LINUX, pod("cnf1", "node-1", "tap1"), pod("cnf2", "node-2", "tap1"))
    no_vni = render(path, "node-1", {})
    assert no_vni.config == {}
    assert no_vni.waiting == ["hop 0: tunnel sfc-linux-chain-0 waits for a VNI"]
    no_address = render_path(
        path, NodeSide("node-1", {"node-1": "192.168.16.1"}), Wiring("node-1"), {0: 1}
    )
    assert no_address.config == {}
    assert no_address.waiting == [
        "hop 0: tunnel sfc-linux-chain-0 waits for the address of node node-2"
    ]


def test_remote_hop_renders_nothing_here() -> None:
    chain = seed_vpp_chain()
    path = path_of(
        chain,
        pod("cnf1", "node-1", "memif1"),
        pod("cnf2", "node-2", "memif1", "memif2"),
        pod("cnf3", "node-2", "memif1"),
    )
    one = render(path, "node-1", {0: 4})
    assert crossing_hops(path, "node-1") == [0]
    assert xconnects(one.config) == {
        "cnf1:memif1": "sfc-vpp-chain-0",
        "sfc-vpp-chain-0": "cnf1:memif1",
    }
    assert render_path(path, NodeSide("node-3", ADDRESSES), Wiring("node-3"), {}).config == {}


def test_tunnel_names_of_different_hops_differ() -> None:
    chain = make_chain(
        "c", pod_fn("a", "if1"), pod_fn("b", in_="if1", out="if2"), pod_fn("c", "if1")
    )
    assert tunnel_label(chain, 0) != tunnel_label(chain, 1)


def test_tunnel_names_of_a_long_chain_keep_hops_apart() -> None:
    name = "a" * 60  # Kubernetes allows 253
    chain = make_chain(
        name, pod_fn("a", "if1"), pod_fn("b", in_="if1", out="if2"), pod_fn("c", "if1")
    )
    labels = {tunnel_label(chain, hop) for hop in range(2)}
    assert len(labels) == 2
    assert all(len(label) <= 63 for label in labels)


def test_tunnel_names_of_two_chains_differ() -> None:
    dotted = make_chain("prod.x", pod_fn("a", "if1"), pod_fn("b", "if1"))
    other = make_chain("x", pod_fn("a", "if1"), pod_fn("b", "if1"), namespace="prod")
    assert tunnel_label(dotted, 0) != tunnel_label(other, 0)
