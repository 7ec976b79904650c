"""The packet walk of 802.1Q-tagged frames: seed 000's external interfaces.

The vswitch's NIC ``GigabitEthernet0/a/0`` has the VLAN sub-interfaces ``.200`` and ``.300``
(``create_vlan_subif``: one tag, exact match), cross-connected to the vswitch's memifs
``memif1/1`` and ``memif1/2`` of a CNF pod whose VPP holds the slaves ``memif0/1`` and
``memif0/2``. Frames come in from the wire with a tag, are handed to the sub-interface of
their VLAN, and keep the tag through every L2 hop: VPP pushes or pops 802.1Q tags in L2 only
where an interface has a VLAN tag rewrite. The last tests give the sub-interfaces one ("pop 1",
as contivpy does for a stub network's external interface): the chain then carries untagged
frames and the outgoing sub-interface tags them with its own VLAN.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import HopKind, InterfaceRef, Outcome, Rx, Tx
from contivpy.vppcalls import interface_ip, interfaces, subinterfaces, tap, xconnect
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.memif import MemifRole
from contivpy.vppcalls.xconnect import XConnect
from sim.vpp.memif_vpps import POD_RUN_DIR, POD_SOCKET, StartVpp, Vpp, add_memif, pod_dir

RX, TX, FIB, ARP, MEMIF = HopKind.RX, HopKind.TX, HopKind.FIB, HopKind.ARP, HopKind.MEMIF
NIC = "GigabitEthernet0/a/0"
SENDER, TARGET = "1.2.3.4", "1.2.3.5"


@dataclass
class External:
    """The vswitch and the CNF's VPP, interfaces by name, the fabric of both."""

    vswitch: Vpp
    cnf: Vpp
    ifaces: dict[str, int]
    fabric: Fabric


async def _cross_connect(vpp: VppClient, a: int, b: int) -> None:
    await xconnect.set_xconnect(vpp, XConnect(a, b))
    await xconnect.set_xconnect(vpp, XConnect(b, a))


async def _up(vpp: VppClient, index: int) -> int:
    await interfaces.set_admin_state(vpp, index, True)
    return index


@pytest.fixture
async def external(start_vpp: StartVpp, tmp_path: Path) -> External:
    socket = str(pod_dir(tmp_path, "vpp-cnf") / "memif.sock")
    vswitch = await start_vpp("vswitch")
    cnf = await start_vpp("vpp-cnf", mounts={POD_RUN_DIR: str(Path(socket).parent)})
    v = vswitch.client
    (nic,) = await interfaces.dump_interfaces(v, name_contains=NIC)
    ifaces = {NIC: await _up(v, nic.sw_if_index)}
    for vlan in (200, 300):
        spec = subinterfaces.VlanSubinterfaceSpec(nic.sw_if_index, vlan)
        ifaces[f"{NIC}.{vlan}"] = await _up(
            v, await subinterfaces.create_vlan_subinterface(v, spec)
        )
    for memif_id in (1, 2):
        ifaces[f"memif1/{memif_id}"] = await add_memif(
            vswitch, socket_id=1, filename=socket, memif_id=memif_id, role=MemifRole.MASTER
        )
        ifaces[f"cnf memif0/{memif_id}"] = await add_memif(
            cnf, socket_id=0, filename=POD_SOCKET, memif_id=memif_id, role=MemifRole.SLAVE
        )
    await _cross_connect(v, ifaces[f"{NIC}.200"], ifaces["memif1/1"])
    await _cross_connect(v, ifaces[f"{NIC}.300"], ifaces["memif1/2"])
    fabric = Fabric({"vswitch": vswitch.sim.state, "vpp-cnf": cnf.sim.state})
    return External(vswitch, cnf, ifaces, fabric)


async def test_a_tagged_frame_takes_its_vlans_sub_interface_into_the_cnf(
    external: External,
) -> None:
    # the CNF passes frames from one memif to the other (as CNF2 of the VPP demo does)
    await _cross_connect(
        external.cnf.client, external.ifaces["cnf memif0/1"], external.ifaces["cnf memif0/2"]
    )

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert trace.delivered, trace.render()
    assert trace.steps() == [
        ("vswitch", RX),  # .200 takes the frame tagged 200
        ("vswitch", TX),  # L2 xconnect .200 -> memif1/1
        ("vswitch", MEMIF),
        ("vpp-cnf", RX),
        ("vpp-cnf", TX),  # the CNF's own cross-connect
        ("vpp-cnf", MEMIF),
        ("vswitch", RX),
        ("vswitch", TX),  # L2 xconnect memif1/2 -> .300
    ]
    assert trace.hops[0] == Rx("vswitch", InterfaceRef(f"{NIC}.200"), None, True, 200)
    assert trace.hops[1] == Tx(
        "vswitch", InterfaceRef("memif1/1"), None, InterfaceRef(f"{NIC}.200"), 200
    )
    text = trace.render()
    assert f"rx     {NIC}.200 l2 xconnect dot1q 200" in text
    assert f"tx     L2 xconnect {NIC}.200 -> memif1/1 dot1q 200" in text
    assert f"tx     L2 xconnect memif1/2 -> {NIC}.300 dot1q 200" in text
    # no tag rewrite anywhere: the frame leaves with the tag it came with, not .300's
    assert (trace.verdict.node, trace.verdict.interface) == ("vswitch", InterfaceRef(f"{NIC}.300"))
    assert trace.verdict.vlan == 200
    assert trace.verdict.reason == (
        f"cross-connected: onto the wire of {NIC}, tagged dot1q 200 (not {NIC}.300's VLAN 300: "
        "VPP pushes no tag on L2 output without a VLAN tag rewrite)"
    )


async def test_naming_the_sub_interface_means_a_frame_with_its_tag(external: External) -> None:
    trace = external.fabric.trace_frame("vswitch", f"{NIC}.200", SENDER, TARGET)

    assert trace.hops[0] == Rx("vswitch", InterfaceRef(f"{NIC}.200"), None, True, 200)
    assert (
        trace.render()
        .splitlines()[0]
        .endswith("ARP request who-has 1.2.3.5 tell 1.2.3.4, broadcast, dot1q 200")
    )


async def test_the_tag_reaches_the_cnf_whose_vlan_sub_interface_answers(
    external: External,
) -> None:
    cnf = external.cnf.client
    parent = external.ifaces["cnf memif0/1"]
    sub = await subinterfaces.create_vlan_subinterface(
        cnf, subinterfaces.VlanSubinterfaceSpec(parent, 200)
    )
    await _up(cnf, sub)
    await interface_ip.add_address(cnf, sub, ipaddress.ip_interface(f"{TARGET}/24"))

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert trace.delivered, trace.render()
    assert (trace.verdict.node, trace.verdict.reason) == ("vpp-cnf", "local: for VPP itself")
    assert trace.steps()[-3:] == [("vpp-cnf", ARP), ("vpp-cnf", RX), ("vpp-cnf", FIB)]
    assert trace.hops[-2] == Rx("vpp-cnf", InterfaceRef("memif0/1.200"), 0, vlan=200)


async def test_a_tagged_frame_on_the_cnfs_l3_memif_is_an_unknown_vlan(
    external: External,
) -> None:
    cnf = external.cnf.client
    await interface_ip.add_address(
        cnf, external.ifaces["cnf memif0/1"], ipaddress.ip_interface(f"{TARGET}/24")
    )

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "vpp-cnf")
    assert trace.verdict.reason == (
        "memif0/1 has no sub-interface for 802.1Q VLAN 200 and is in L3 mode "
        "(untagged frames only): dropped as unknown vlan"
    )


async def test_an_unmatched_vlan_is_dropped_by_a_parent_in_l3_mode(external: External) -> None:
    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=201)

    assert (trace.verdict.outcome, trace.verdict.node) == (Outcome.DROPPED, "vswitch")
    assert trace.verdict.reason == (
        f"{NIC} has no sub-interface for 802.1Q VLAN 201 and is in L3 mode "
        "(untagged frames only): dropped as unknown vlan"
    )
    assert trace.hops == ()


async def test_an_untagged_frame_goes_to_the_parent_which_neither_answers_nor_routes(
    external: External,
) -> None:
    arp = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET)
    nic_mac = external.vswitch.sim.state.interfaces[external.ifaces[NIC]].mac.hex(":")
    unicast = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, dst_mac=nic_mac)

    assert (arp.verdict.outcome, arp.verdict.node) == (Outcome.DROPPED, "vswitch")
    assert arp.verdict.reason == f"nothing answers ARP for {TARGET}: {NIC} does not hold it"
    assert (unicast.verdict.outcome, unicast.verdict.node) == (Outcome.DROPPED, "vswitch")
    assert unicast.verdict.reason == (f"IPv4 is not enabled on {NIC} (no address, not unnumbered)")


async def test_a_parent_in_l2_mode_takes_the_vlans_no_sub_interface_matches(
    external: External,
) -> None:
    v = external.vswitch.client
    host = await _up(v, await tap.create_tap(v, tap.TapSpec(host_if_name="trunk")))
    await xconnect.set_xconnect(v, XConnect(external.ifaces[NIC], host))

    unmatched = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=201)
    matched = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert unmatched.delivered, unmatched.render()
    assert unmatched.verdict.interface == InterfaceRef("tap0")
    assert unmatched.verdict.vlan == 201
    assert matched.hops[0] == Rx("vswitch", InterfaceRef(f"{NIC}.200"), None, True, 200)


async def test_a_down_sub_interface_drops_its_vlan(external: External) -> None:
    await interfaces.set_admin_state(external.vswitch.client, external.ifaces[f"{NIC}.200"], False)

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert (trace.verdict.outcome, trace.verdict.reason) == (
        Outcome.DROPPED,
        f"{NIC}.200 is admin down",
    )


async def test_the_cnfs_vlan_sub_interface_reaches_the_wire_tagged(external: External) -> None:
    cnf = external.cnf.client
    parent = external.ifaces["cnf memif0/1"]
    sub = await _up(
        cnf,
        await subinterfaces.create_vlan_subinterface(
            cnf, subinterfaces.VlanSubinterfaceSpec(parent, 200)
        ),
    )
    await interface_ip.add_address(cnf, sub, ipaddress.ip_interface(f"{SENDER}/24"))

    trace = external.fabric.trace_from_vpp("vpp-cnf", SENDER, TARGET)

    assert trace.delivered, trace.render()
    assert trace.steps() == [
        ("vpp-cnf", FIB),
        ("vpp-cnf", TX),  # out of memif0/1.200: the tag goes into the header
        ("vpp-cnf", MEMIF),
        ("vswitch", RX),
        ("vswitch", TX),  # L2 xconnect memif1/1 -> .200
    ]
    assert trace.hops[1] == Tx(
        "vpp-cnf", InterfaceRef("memif0/1.200"), ipaddress.ip_address(TARGET), vlan=200
    )
    assert trace.verdict.interface == InterfaceRef(f"{NIC}.200")
    assert trace.verdict.vlan == 200
    assert trace.verdict.reason == f"cross-connected: onto the wire of {NIC}, tagged dot1q 200"


async def test_an_untagged_frame_from_the_cnf_leaves_the_sub_interface_untagged(
    external: External,
) -> None:
    cnf = external.cnf.client
    await interface_ip.add_address(
        cnf, external.ifaces["cnf memif0/1"], ipaddress.ip_interface(f"{SENDER}/24")
    )

    trace = external.fabric.trace_from_vpp("vpp-cnf", SENDER, TARGET)

    assert trace.delivered, trace.render()
    assert trace.verdict.interface == InterfaceRef(f"{NIC}.200")
    assert trace.verdict.vlan is None
    assert trace.verdict.reason == (
        f"cross-connected: onto the wire of {NIC}, untagged (not {NIC}.200's VLAN 200: "
        "VPP pushes no tag on L2 output without a VLAN tag rewrite)"
    )


async def _pop(vpp: VppClient, index: int) -> None:
    await subinterfaces.set_vlan_tag_rewrite(vpp, index, subinterfaces.VlanTagRewrite.pop(1))


async def test_with_pop_1_the_chain_carries_untagged_frames_and_the_nic_tags_them(
    external: External,
) -> None:
    v = external.vswitch.client
    for vlan in (200, 300):
        await _pop(v, external.ifaces[f"{NIC}.{vlan}"])
    await _cross_connect(
        external.cnf.client, external.ifaces["cnf memif0/1"], external.ifaces["cnf memif0/2"]
    )

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert trace.delivered, trace.render()
    # .200 pops the tag as it takes the frame; the CNF sees it untagged
    assert trace.hops[0] == Rx("vswitch", InterfaceRef(f"{NIC}.200"), None, True, 200, True)
    assert trace.hops[1] == Tx(
        "vswitch", InterfaceRef("memif1/1"), None, InterfaceRef(f"{NIC}.200")
    )
    assert trace.hops[3] == Rx("vpp-cnf", InterfaceRef("memif0/1"), None, True)
    # .300 pushes its own VLAN as the frame leaves
    assert trace.hops[-1] == Tx(
        "vswitch", InterfaceRef(f"{NIC}.300"), None, InterfaceRef("memif1/2"), 300, pushed=True
    )
    assert trace.verdict.vlan == 300
    assert trace.verdict.reason == f"cross-connected: onto the wire of {NIC}, tagged dot1q 300"
    text = trace.render()
    assert f"rx     {NIC}.200 l2 xconnect dot1q 200, tag popped" in text
    assert f"tx     L2 xconnect memif1/2 -> {NIC}.300 dot1q 300, tag pushed" in text


async def test_pop_1_pushes_onto_an_untagged_frame_only(external: External) -> None:
    v = external.vswitch.client
    await _pop(v, external.ifaces[f"{NIC}.200"])
    cnf = external.cnf.client
    await interface_ip.add_address(
        cnf, external.ifaces["cnf memif0/1"], ipaddress.ip_interface(f"{SENDER}/24")
    )
    untagged = external.fabric.trace_from_vpp("vpp-cnf", SENDER, TARGET)
    sub = await _up(
        cnf,
        await subinterfaces.create_vlan_subinterface(
            cnf, subinterfaces.VlanSubinterfaceSpec(external.ifaces["cnf memif0/1"], 200)
        ),
    )
    await interface_ip.delete_address(
        cnf, external.ifaces["cnf memif0/1"], ipaddress.ip_interface(f"{SENDER}/24")
    )
    await interface_ip.add_address(cnf, sub, ipaddress.ip_interface(f"{SENDER}/24"))
    tagged = external.fabric.trace_from_vpp("vpp-cnf", SENDER, TARGET)

    assert untagged.delivered, untagged.render()
    assert (untagged.verdict.interface, untagged.verdict.vlan) == (
        InterfaceRef(f"{NIC}.200"),
        200,
    )
    # the CNF's own sub-interface tagged it already: a second tag is QinQ, not modelled
    assert (tagged.verdict.outcome, tagged.verdict.node) == (Outcome.DROPPED, "vswitch")
    assert tagged.verdict.reason == (
        f"{NIC}.200 pushes dot1q 200 onto a frame tagged 200: two tags (QinQ) are not modelled"
    )


async def test_the_rewrite_is_gone_once_the_sub_interface_is_back_in_l3(
    external: External,
) -> None:
    v = external.vswitch.client
    sub = external.ifaces[f"{NIC}.200"]
    await _pop(v, sub)
    await xconnect.clear_xconnect(v, sub)
    await xconnect.set_xconnect(v, XConnect(sub, external.ifaces["memif1/1"]))
    await _cross_connect(
        external.cnf.client, external.ifaces["cnf memif0/1"], external.ifaces["cnf memif0/2"]
    )

    trace = external.fabric.trace_frame("vswitch", NIC, SENDER, TARGET, vlan=200)

    assert trace.hops[0] == Rx("vswitch", InterfaceRef(f"{NIC}.200"), None, True, 200)
    assert trace.hops[3] == Rx("vpp-cnf", InterfaceRef("memif0/1"), None, True, 200)
