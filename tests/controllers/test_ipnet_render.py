"""ipnet's renderers: Contiv's names, addresses and dependencies, pure functions."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping

from contivpy.controllers import naming
from contivpy.controllers.addressing import AddressPlan
from contivpy.controllers.ipnet_linux import LinuxSide
from contivpy.controllers.ipnet_pods import pod_cni_result, render_pod_vpp
from contivpy.controllers.ipnet_vpp import NodeContext, render_base, render_mesh
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import LocalPod
from contivpy.events.types import NodeInfo
from contivpy.linux import keys as linux_keys
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.models.vpp_interfaces import AfPacketLink, Interface, TapLink
from contivpy.models.vpp_keys import bridge_domain_key, interface_key
from contivpy.models.vpp_l2 import BridgeDomain
from contivpy.models.vpp_l3 import Route, RouteType
from contivpy.settings import AgentSettings, InterfaceSettings

POD = LocalPod(PodID("ns", "web"), "c0ffee" * 4, "/var/run/netns/web", "eth0")
IP = ipaddress.ip_address("10.1.3.7")


def context(**interfaces: object) -> NodeContext:
    settings = AgentSettings(
        node_name="n3", interfaces=dataclasses.replace(InterfaceSettings(), **interfaces)
    ).validate()
    plan = AddressPlan(settings.ipam)
    return NodeContext(settings, plan, plan.node(3))


def test_tap_mode_pod() -> None:
    ctx = context()
    config = render_pod_vpp(ctx, POD, IP)
    tap = config[interface_key(naming.pod_vpp_tap(POD.container_id))]
    assert isinstance(tap, Interface)
    assert isinstance(tap.link, TapLink)
    assert (tap.vrf, tap.unnumbered) == (1, naming.POD_GW_LOOP)
    assert tap.link.host_namespace == POD.netns
    assert tap.link.host_mac == naming.pod_mac(POD.container_id) != tap.phys_address
    result = pod_cni_result(ctx, POD, IP)
    assert result.ips[0].address == "10.1.3.7/32"
    assert result.ips[0].gateway == "10.1.3.1"


def test_veth_mode_waits_for_the_linux_end_only_when_linux_is_managed() -> None:
    ctx = context(use_tap_interfaces=False)
    name = interface_key(naming.pod_afpacket(POD.container_id))
    managed = render_pod_vpp(ctx, POD, IP, linux=True)[name]
    assert isinstance(managed, Interface)
    assert isinstance(managed.link, AfPacketLink)
    assert managed.link.linux_interface == naming.pod_veth_on_host(POD.container_id)
    unmanaged = render_pod_vpp(ctx, POD, IP)[name]
    assert isinstance(unmanaged, Interface)
    assert isinstance(unmanaged.link, AfPacketLink)
    assert unmanaged.link.linux_interface == ""
    linux = LinuxSide().render_pod(ctx, POD, IP)
    in_pod = linux[linux_keys.interface_key(naming.pod_veth_in_pod(POD.container_id))]
    assert isinstance(in_pod, LinuxInterface)
    assert in_pod.type is LinuxInterfaceType.VETH
    assert in_pod.namespace is not None
    assert in_pod.namespace.path == POD.netns
    assert in_pod.ip_addresses == ("10.1.3.7/32",)


def test_mesh_bridges_every_tunnel_and_the_bvi() -> None:
    ctx = context()
    others = [NodeInfo(1, "n1", ("192.168.16.1/24",)), NodeInfo(2, "n2")]
    config = render_mesh(ctx, others)
    bd = config[bridge_domain_key(naming.VXLAN_BD)]
    assert isinstance(bd, BridgeDomain)
    assert [m.name for m in bd.interfaces] == [
        naming.VXLAN_BVI,
        "vxlan-default-1",
        "vxlan-default-2",
    ]
    assert not bd.learn
    assert not bd.flood
    base = render_base(ctx)
    bvi = base[interface_key(naming.VXLAN_BVI)]
    assert isinstance(bvi, Interface)
    assert bvi.phys_address == "12:2b:00:00:00:03"
    assert bvi.ip_addresses == ("192.168.30.3/24",)


def _routes(config: Mapping[str, object]) -> set[Route]:
    return {value for value in config.values() if isinstance(value, Route)}


def test_a_management_ip_that_is_the_tunnel_endpoint_gets_no_overlay_route() -> None:
    # InternalIP == interconnect address: routing it into the overlay sends the tunnel's
    # own packets back into the tunnel (two real VPPs crashed on it).
    ctx = context()
    node = NodeInfo(2, "n2", ("192.168.16.2/24",), ("192.168.16.2", "10.20.0.2"))
    routes = _routes(render_mesh(ctx, [node]))
    assert {r.dst_network for r in routes if "192.168.16.2" in r.dst_network} == set()
    # Contiv's overlay routes stay for the management IP that is no endpoint
    assert Route("10.20.0.2/32", 1, "192.168.30.2", naming.VXLAN_BVI) in routes
    assert Route("10.20.0.2/32", 0, via_vrf=1, type=RouteType.INTER_VRF) in routes


def test_any_nodes_endpoint_is_kept_out_of_the_overlay_not_only_its_own() -> None:
    ctx = context()
    others = [
        NodeInfo(1, "n1", ("192.168.16.1/24",), ("192.168.16.2",)),  # node 2's address
        NodeInfo(2, "n2", (), ("192.168.16.3",)),  # this node's address (unpublished plan)
    ]
    routes = _routes(render_mesh(ctx, others))
    assert [r for r in routes if r.dst_network.startswith("192.168.16.")] == []


def test_an_endpoint_inside_an_overlay_prefix_is_pinned_to_the_underlay() -> None:
    # Node 2 published an address inside the cluster pod range (routed into the pod VRF)
    # and in node 1's pod subnet (routed out of the BVI there).
    ctx = context()
    others = [NodeInfo(1, "n1"), NodeInfo(2, "n2", ("10.1.1.77/24",))]
    routes = _routes(render_mesh(ctx, others))
    pins = {r for r in routes if r.dst_network == "10.1.1.77/32"}
    # no gateway and off-link: dropping the tunnel's packets beats looping them
    assert pins == {
        Route("10.1.1.77/32", 0, type=RouteType.DROP),
        Route("10.1.1.77/32", 1, via_vrf=0, type=RouteType.INTER_VRF),
    }
    on_link = [NodeInfo(2, "n2", ("192.168.16.200/24",))]
    assert not [r for r in _routes(render_mesh(ctx, on_link)) if r.dst_network.endswith("/32")]


def test_veth_ends_have_tx_checksum_offload_off_unless_the_setting_says_otherwise() -> None:
    """VPP's af_packet forwards a veth's partial checksums as they are: off on every end (the
    pod's, the host's, the host interconnect's); with the setting false, the kernel's."""
    for disabled, expected in ((True, False), (False, None)):
        ctx = context(use_tap_interfaces=False, tcp_checksum_offload_disabled=disabled)
        linux = {**LinuxSide().render_pod(ctx, POD, IP), **LinuxSide().render_base(ctx)}
        veths = [
            v
            for v in linux.values()
            if isinstance(v, LinuxInterface) and v.type is LinuxInterfaceType.VETH
        ]
        assert len(veths) == 4
        assert {v.tx_checksum_offload for v in veths} == {expected}
