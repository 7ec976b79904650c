"""The packet walk along L2 cross-connects: seed 000's Linux CNFs, on one node and across two.

One node: CNF1's and CNF2's custom taps (``tap1`` in each pod, in the stub network: no IP
VPP knows) cross-connected on the vswitch; the operator gives CNF1's ``tap1`` 1.2.3.4/24 and
pings 1.2.3.5: the ARP request reaches CNF2's ``tap1`` ("RX packets" grow there).

Two nodes (Contiv vswitches with their VNI 10 mesh): CNF1's tap on node 1 cross-connected to
a dedicated VXLAN tunnel ``sfc-chain-0`` to node 2, whose tunnel of mirrored ends and the same
VNI is cross-connected to CNF2's tap.
"""

from __future__ import annotations

import re

import pytest

from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import HopKind, InterfaceRef, Outcome, Trace, Tx
from contivpy.vppcalls import interfaces, tap, vxlan, xconnect
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.xconnect import XConnect
from sim.vpp.cluster import Cluster, StartCluster
from sim.vpp.memif_vpps import StartVpp, Vpp

RX, TX, FIB, ENCAP, DECAP = HopKind.RX, HopKind.TX, HopKind.FIB, HopKind.ENCAP, HopKind.DECAP
CNF1_IP, CNF2_IP = "1.2.3.4", "1.2.3.5"
SFC_VNI = 5000


async def _custom_tap(vpp: VppClient, pod: str, tag: str) -> int:
    """A pod's custom tap as Contiv makes one: ``tap1`` in the pod's namespace, no IP."""
    index = await tap.create_tap(
        vpp, tap.TapSpec(host_if_name="tap1", host_namespace=f"/var/run/netns/{pod}")
    )
    await interfaces.set_tag(vpp, index, tag)
    await interfaces.set_admin_state(vpp, index, True)
    return index


async def _cross_connect(vpp: VppClient, a: int, b: int, *, both: bool = True) -> None:
    await xconnect.set_xconnect(vpp, XConnect(a, b))
    if both:
        await xconnect.set_xconnect(vpp, XConnect(b, a))


@pytest.fixture
async def vswitch(start_vpp: StartVpp) -> Vpp:
    """One vswitch with linux-cnf1's and linux-cnf2's custom taps cross-connected."""
    vpp = await start_vpp("vswitch")
    cnf1 = await _custom_tap(vpp.client, "linux-cnf1", "linux-cnf1-tap1")
    cnf2 = await _custom_tap(vpp.client, "linux-cnf2", "linux-cnf2-tap1")
    await _cross_connect(vpp.client, cnf1, cnf2)
    return vpp


def _fabric(vpp: Vpp) -> Fabric:
    return Fabric({"node1": vpp.sim.state})


async def test_an_arp_from_a_custom_tap_reaches_the_other_cnfs_tap1(vswitch: Vpp) -> None:
    trace = _fabric(vswitch).trace_frame("node1", "linux-cnf1-tap1", CNF1_IP, CNF2_IP)

    assert trace.delivered, trace.render()
    assert (trace.verdict.node, trace.verdict.interface) == (
        "node1",
        InterfaceRef("tap1", "linux-cnf2-tap1"),
    )
    assert (
        trace.verdict.reason
        == "cross-connected: to its Linux end tap1 in /var/run/netns/linux-cnf2"
    )
    assert trace.steps() == [("node1", RX), ("node1", TX)]
    assert trace.hops[-1] == Tx(
        "node1",
        InterfaceRef("tap1", "linux-cnf2-tap1"),
        None,
        xconnect_from=InterfaceRef("tap0", "linux-cnf1-tap1"),
    )
    lines = trace.render().splitlines()
    assert lines[0] == (
        "1.2.3.4 -> 1.2.3.5 from node1 linux-cnf1-tap1: "
        "ARP request who-has 1.2.3.5 tell 1.2.3.4, broadcast"
    )
    assert lines[1].endswith("rx     tap0 (linux-cnf1-tap1) l2 xconnect")
    assert lines[2].endswith("tx     L2 xconnect tap0 (linux-cnf1-tap1) -> tap1 (linux-cnf2-tap1)")


async def test_the_cross_connect_carries_frames_both_ways(vswitch: Vpp) -> None:
    back = _fabric(vswitch).trace_frame("node1", "tap1", CNF2_IP, CNF1_IP)

    assert back.delivered, back.render()
    assert back.verdict.interface == InterfaceRef("tap0", "linux-cnf1-tap1")


async def test_a_one_way_cross_connect_leaves_the_way_back_to_l3(start_vpp: StartVpp) -> None:
    vpp = await start_vpp("vswitch")
    cnf1 = await _custom_tap(vpp.client, "linux-cnf1", "linux-cnf1-tap1")
    cnf2 = await _custom_tap(vpp.client, "linux-cnf2", "linux-cnf2-tap1")
    await _cross_connect(vpp.client, cnf1, cnf2, both=False)  # a unidirectional chain

    there = _fabric(vpp).trace_frame("node1", "linux-cnf1-tap1", CNF1_IP, CNF2_IP)
    back = _fabric(vpp).trace_frame("node1", "linux-cnf2-tap1", CNF2_IP, CNF1_IP)

    assert there.delivered, there.render()
    assert (back.verdict.outcome, back.verdict.node) == (Outcome.DROPPED, "node1")
    assert back.verdict.reason == (
        "nothing answers ARP for 1.2.3.4: tap1 (linux-cnf2-tap1) does not hold it"
    )


async def test_an_admin_down_tap_at_the_far_end_drops(vswitch: Vpp) -> None:
    state = vswitch.sim.state
    far = next(i for i in state.interfaces.values() if i.tag == "linux-cnf2-tap1")
    await interfaces.set_admin_state(vswitch.client, far.sw_if_index, False)

    trace = _fabric(vswitch).trace_frame("node1", "linux-cnf1-tap1", CNF1_IP, CNF2_IP)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "node1")
    assert trace.verdict.reason == "tap1 (linux-cnf2-tap1) is admin down"


async def test_a_unicast_frame_follows_the_cross_connect_whatever_its_mac(vswitch: Vpp) -> None:
    trace = _fabric(vswitch).trace_frame(
        "node1", "linux-cnf1-tap1", CNF1_IP, CNF2_IP, dst_mac="02:FE:DA:FD:C9:96"
    )

    assert trace.delivered, trace.render()
    assert trace.render().splitlines()[0].endswith(": frame to 02:fe:da:fd:c9:96")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vlan": 0}, "vlan 0 is not an 802.1Q VLAN id (1..4094)"),
        ({"vlan": 4095}, "vlan 4095 is not an 802.1Q VLAN id (1..4094)"),
        ({"dst_mac": "02:fe:00:00:00"}, "dst_mac '02:fe:00:00:00' is not a MAC address"),
        ({"dst_mac": "02:fe:00:00:00:zz"}, "dst_mac '02:fe:00:00:00:zz' is not a MAC address"),
    ],
)
async def test_a_malformed_frame_is_refused_naming_the_field(
    vswitch: Vpp, options: dict[str, object], message: str
) -> None:
    fabric = _fabric(vswitch)
    with pytest.raises(ValueError, match=re.escape(message)):
        fabric.trace_frame("node1", "tap0", CNF1_IP, CNF2_IP, **options)  # type: ignore[arg-type]


# -- across two nodes -------------------------------------------------------------------


async def _sfc_hop(cluster: Cluster, node: str, peer: str, vni: int, pod: str) -> None:
    """``pod``'s custom tap on ``node`` cross-connected both ways to an SFC tunnel to
    ``peer`` (VRF 0, from the node's IP to the peer's)."""
    here, there = cluster.switches[node], cluster.switches[peer]
    vpp = here.vpp
    cnf_tap = await _custom_tap(vpp, pod, f"{pod}-tap1")
    tunnel = await vxlan.create_vxlan_tunnel(
        vpp, vxlan.VxlanTunnel(here.plan.node_ip.ip, there.plan.node_ip.ip, vni)
    )
    await interfaces.set_tag(vpp, tunnel, "sfc-chain-0")
    await interfaces.set_admin_state(vpp, tunnel, True)
    await _cross_connect(vpp, cnf_tap, tunnel)


@pytest.fixture
async def two_node_chain(start_cluster: StartCluster) -> Cluster:
    cluster = await start_cluster(2)
    await _sfc_hop(cluster, "node1", "node2", SFC_VNI, "linux-cnf1")
    await _sfc_hop(cluster, "node2", "node1", SFC_VNI, "linux-cnf2")
    return cluster


def _across(cluster: Cluster, src_node: str = "node1", pod: str = "linux-cnf1") -> Trace:
    return cluster.fabric.trace_frame(src_node, f"{pod}-tap1", CNF1_IP, CNF2_IP)


async def test_an_arp_crosses_the_sfc_tunnel_to_the_cnf_on_the_other_node(
    two_node_chain: Cluster,
) -> None:
    trace = _across(two_node_chain)

    assert trace.delivered, trace.render()
    assert trace.verdict.node == "node2"
    assert trace.verdict.interface is not None
    assert trace.verdict.interface.tag == "linux-cnf2-tap1"
    assert trace.steps() == [
        ("node1", RX),
        ("node1", TX),  # L2 xconnect tap -> the SFC tunnel
        ("node1", ENCAP),
        ("node1", FIB),  # the underlay route to node 2
        ("node2", RX),  # node 2's NIC
        ("node2", DECAP),
        ("node2", TX),  # L2 xconnect the SFC tunnel -> tap
    ]
    text = trace.render()
    # the mesh's VNI 10 tunnel joins the same two addresses: the SFC VNI picks the right one
    assert "encap  vxlan_tunnel1 (sfc-chain-0) vni 5000 192.168.16.1 -> 192.168.16.2" in text
    assert "decap  vxlan_tunnel1 (sfc-chain-0) vni 5000 192.168.16.1 -> 192.168.16.2" in text
    assert "L2 xconnect vxlan_tunnel1 (sfc-chain-0) -> tap1 (linux-cnf2-tap1)" in text


async def test_the_sfc_tunnel_carries_frames_back(two_node_chain: Cluster) -> None:
    trace = _across(two_node_chain, "node2", "linux-cnf2")

    assert trace.delivered, trace.render()
    assert trace.verdict.node == "node1"


async def test_a_vni_mismatch_is_dropped_on_the_receiving_node(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster(2)
    await _sfc_hop(cluster, "node1", "node2", SFC_VNI, "linux-cnf1")
    await _sfc_hop(cluster, "node2", "node1", SFC_VNI + 1, "linux-cnf2")

    trace = _across(cluster)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "node2")
    assert trace.verdict.reason == (
        f"no VXLAN tunnel 192.168.16.2 -> 192.168.16.1 with VNI {SFC_VNI} to decapsulate"
    )
