"""The packet walk across memifs: from a CNF's VPP through the vswitch into other CNFs' VPPs.

Seed 000's VPP CNFs: CNF1 and CNF3 have one memif, CNF2 two, each a slave of a vswitch
master on its pod's socket file; the vswitch cross-connects CNF1 to CNF2's first memif and
CNF2's second to CNF3, and CNF2 cross-connects its two memifs. CNF1 pings 1.2.3.5 from
1.2.3.4/24: the ARP and then the packet cross the chain to CNF3.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import HopKind, InterfaceRef, MemifCross, Outcome, Trace
from contivpy.vppcalls import (
    bridge_domains,
    interface_ip,
    interfaces,
    l2fib,
    loopback,
    neighbors,
    xconnect,
)
from contivpy.vppcalls.memif import MemifRole
from contivpy.vppcalls.xconnect import XConnect
from sim.vpp.memif_vpps import POD_RUN_DIR, POD_SOCKET, StartVpp, Vpp, add_memif, pod_dir

RX, FIB, ARP, TX, MEMIF = HopKind.RX, HopKind.FIB, HopKind.ARP, HopKind.TX, HopKind.MEMIF
CNF1_IP = ipaddress.ip_interface("1.2.3.4/24")
CNF3_IP = ipaddress.ip_interface("1.2.3.5/24")
CNF3_MAC = "02:fe:00:00:03:01"


@dataclass
class Chain:
    """The vswitch and the three CNF VPPs, their memifs by name, the fabric of all four."""

    vpps: dict[str, Vpp]
    memifs: dict[str, int]
    fabric: Fabric
    sockets: dict[str, str]


async def _cross_connect(vpp: Vpp, a: int, b: int) -> None:
    await xconnect.set_xconnect(vpp.client, XConnect(a, b))
    await xconnect.set_xconnect(vpp.client, XConnect(b, a))


async def _slave(cnf: Vpp, memif_id: int, **spec: object) -> int:
    return await add_memif(
        cnf, socket_id=0, filename=POD_SOCKET, memif_id=memif_id, role=MemifRole.SLAVE, **spec
    )


@pytest.fixture
async def chain(start_vpp: StartVpp, tmp_path: Path) -> Chain:
    sockets = {pod: str(pod_dir(tmp_path, pod) / "memif.sock") for pod in ("cnf1", "cnf2", "cnf3")}
    vswitch = await start_vpp("vswitch")
    cnfs = {
        pod: await start_vpp(pod, mounts={POD_RUN_DIR: str(Path(path).parent)})
        for pod, path in sockets.items()
    }
    memifs: dict[str, int] = {}
    for socket_id, (pod, path) in enumerate(sockets.items(), 1):
        for memif_id in (1, 2) if pod == "cnf2" else (1,):
            memifs[f"vswitch-{pod}-{memif_id}"] = await add_memif(
                vswitch, socket_id=socket_id, filename=path, memif_id=memif_id,
                role=MemifRole.MASTER,
            )  # fmt: skip
    await _cross_connect(vswitch, memifs["vswitch-cnf1-1"], memifs["vswitch-cnf2-1"])
    await _cross_connect(vswitch, memifs["vswitch-cnf2-2"], memifs["vswitch-cnf3-1"])
    memifs["cnf1"] = await _slave(cnfs["cnf1"], 1)
    await interface_ip.add_address(cnfs["cnf1"].client, memifs["cnf1"], CNF1_IP)
    memifs["cnf2-1"] = await _slave(cnfs["cnf2"], 1)
    memifs["cnf2-2"] = await _slave(cnfs["cnf2"], 2)
    await _cross_connect(cnfs["cnf2"], memifs["cnf2-1"], memifs["cnf2-2"])
    memifs["cnf3"] = await _slave(cnfs["cnf3"], 1, mac=CNF3_MAC)
    vpps = {"vswitch": vswitch, **cnfs}
    fabric = Fabric({name: vpp.sim.state for name, vpp in vpps.items()})
    return Chain(vpps, memifs, fabric, sockets)


def _ping_from_cnf1(chain: Chain) -> Trace:
    return chain.fabric.trace_from_vpp("cnf1", CNF1_IP.ip, CNF3_IP.ip)


async def test_a_ping_from_cnf1_crosses_the_vswitch_and_cnf2_into_cnf3(chain: Chain) -> None:
    await interface_ip.add_address(chain.vpps["cnf3"].client, chain.memifs["cnf3"], CNF3_IP)

    trace = _ping_from_cnf1(chain)

    assert trace.verdict.outcome is Outcome.DELIVERED, trace.render()
    assert (trace.verdict.node, trace.verdict.reason) == ("cnf3", "local: for VPP itself")
    assert trace.steps() == [
        ("cnf1", FIB),
        ("cnf1", TX),
        ("cnf1", MEMIF),
        ("vswitch", RX),
        ("vswitch", TX),
        ("vswitch", MEMIF),
        ("cnf2", RX),
        ("cnf2", TX),
        ("cnf2", MEMIF),
        ("vswitch", RX),
        ("vswitch", TX),
        ("vswitch", MEMIF),
        ("cnf3", ARP),  # CNF3 answers CNF1's ARP: it holds 1.2.3.5
        ("cnf3", RX),
        ("cnf3", FIB),
    ]
    crossings = [h for h in trace.hops if isinstance(h, MemifCross)]
    assert [(h.node, h.interface, h.peer_node, h.peer_interface) for h in crossings] == [
        ("cnf1", InterfaceRef("memif0/1"), "vswitch", InterfaceRef("memif1/1")),
        ("vswitch", InterfaceRef("memif2/1"), "cnf2", InterfaceRef("memif0/1")),
        ("cnf2", InterfaceRef("memif0/2"), "vswitch", InterfaceRef("memif2/2")),
        ("vswitch", InterfaceRef("memif3/1"), "cnf3", InterfaceRef("memif0/1")),
    ]
    assert crossings[0].socket == chain.sockets["cnf1"]
    assert (
        f"cnf1     memif  memif0/1 -> vswitch memif1/1 (memif id 1 on {chain.sockets['cnf1']})"
        in trace.render()
    )


async def test_without_the_address_cnf3_leaves_the_arp_unanswered(chain: Chain) -> None:
    trace = _ping_from_cnf1(chain)

    # as the seed shows: the ARP requests reach CNF3's VPP and are dropped there
    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "cnf3"
    assert trace.verdict.reason == ("nothing answers ARP for 1.2.3.5: memif0/1 does not hold it")


async def test_a_stopped_cnf_vpp_takes_the_chain_down_at_the_vswitch(chain: Chain) -> None:
    await chain.vpps["cnf3"].sim.stop()

    trace = _ping_from_cnf1(chain)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "vswitch")
    assert trace.verdict.reason == "memif3/1 link is down"


async def test_an_admin_down_memif_stays_connected_but_passes_nothing(chain: Chain) -> None:
    await interfaces.set_admin_state(chain.vpps["cnf2"].client, chain.memifs["cnf2-2"], False)

    trace = _ping_from_cnf1(chain)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "cnf2")
    assert trace.verdict.reason == "memif0/2 is admin down"


async def test_a_memif_to_a_vpp_outside_the_fabric_delivers_there(chain: Chain) -> None:
    nodes = {name: vpp.sim.state for name, vpp in chain.vpps.items() if name != "cnf3"}

    trace = Fabric(nodes).trace_from_vpp("cnf1", CNF1_IP.ip, CNF3_IP.ip)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DELIVERED, "vswitch")
    assert trace.verdict.interface == InterfaceRef("memif3/1")
    assert trace.verdict.reason == "to memif0/1 of a VPP outside the fabric"


@pytest.mark.parametrize(
    ("static_mac", "delivered"), [(None, True), (CNF3_MAC, True), ("02:fe:00:00:09:09", False)]
)
async def test_a_routed_memif_reaches_the_cnf_only_with_its_mac(
    chain: Chain, static_mac: str | None, delivered: bool
) -> None:
    # CNF3's memif routed on the vswitch side: an address on the vswitch's master
    vswitch = chain.vpps["vswitch"]
    master = chain.memifs["vswitch-cnf3-1"]
    await xconnect.clear_xconnect(vswitch.client, master)
    await xconnect.clear_xconnect(vswitch.client, chain.memifs["vswitch-cnf2-2"])
    await interface_ip.add_address(vswitch.client, master, ipaddress.ip_interface("1.2.3.1/24"))
    await interface_ip.add_address(chain.vpps["cnf3"].client, chain.memifs["cnf3"], CNF3_IP)
    if static_mac is not None:
        await neighbors.add_neighbor(
            vswitch.client, neighbors.IpNeighbor(master, CNF3_IP.ip, static_mac)
        )

    trace = chain.fabric.trace_from_vpp("vswitch", "1.2.3.1", CNF3_IP.ip)

    assert trace.delivered is delivered, trace.render()
    assert trace.verdict.node == "cnf3"
    if not delivered:
        assert trace.verdict.reason == (
            f"memif0/1 is an L3 interface and 02:fe:00:00:09:09 is not its MAC ({CNF3_MAC})"
        )


async def test_a_bridged_memif_joins_the_cnf_to_the_vswitchs_bvi(chain: Chain) -> None:
    # CNF3's memif as a member of a vswitch bridge domain whose BVI is its gateway
    vswitch = chain.vpps["vswitch"]
    master = chain.memifs["vswitch-cnf3-1"]
    await xconnect.clear_xconnect(vswitch.client, master)
    await xconnect.clear_xconnect(vswitch.client, chain.memifs["vswitch-cnf2-2"])
    bvi = await loopback.create_loopback(vswitch.client, loopback.LoopbackSpec())
    await interfaces.set_admin_state(vswitch.client, bvi, True)
    await interface_ip.add_address(vswitch.client, bvi, ipaddress.ip_interface("1.2.3.1/24"))
    await bridge_domains.add_bridge_domain(vswitch.client, bridge_domains.BridgeDomain(7))
    await bridge_domains.add_port(vswitch.client, bridge_domains.BridgeDomainPort(bvi, 7, True))
    await bridge_domains.add_port(vswitch.client, bridge_domains.BridgeDomainPort(master, 7))
    await l2fib.add_l2fib_entry(vswitch.client, l2fib.L2FibEntry(7, CNF3_MAC, master))
    await neighbors.add_neighbor(vswitch.client, neighbors.IpNeighbor(bvi, CNF3_IP.ip, CNF3_MAC))
    await interface_ip.add_address(chain.vpps["cnf3"].client, chain.memifs["cnf3"], CNF3_IP)

    to_cnf = chain.fabric.trace_from_vpp("vswitch", "1.2.3.1", CNF3_IP.ip)
    from_cnf = chain.fabric.trace_from_vpp("cnf3", CNF3_IP.ip, "1.2.3.1")

    assert to_cnf.delivered, to_cnf.render()
    assert to_cnf.steps()[-5:] == [
        ("vswitch", HopKind.L2),
        ("vswitch", TX),
        ("vswitch", MEMIF),
        ("cnf3", RX),
        ("cnf3", FIB),
    ]
    # CNF3 ARPs for its gateway: the BVI answers, the frame goes up to the vswitch's L3
    assert from_cnf.delivered, from_cnf.render()
    assert from_cnf.verdict.node == "vswitch"
    assert from_cnf.steps()[2:] == [
        ("cnf3", MEMIF),
        ("vswitch", RX),
        ("vswitch", HopKind.L2),
        ("vswitch", RX),
        ("vswitch", FIB),
    ]
