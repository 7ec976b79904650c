"""What wiring one pod takes on VPP's side, and what its CNI result says.

In: the node context, a local pod (container ID, netns, interface name) and its IP. Out: the
pod's VPP values — its tap (or, in veth mode, an af_packet on the host end of its veth) in
the pod VRF, unnumbered to ``podGwLoop``, with the pod-specific MAC; a static neighbour for
the pod; a /32 route to it — and the CNI result (eth0 with its MAC, ``<ip>/32`` with the
gateway, a default route via the gateway). The pod side in Linux is rendered by ipnet_linux.
"""

from __future__ import annotations

from contivpy.cni.types import CniInterface, CniIP, CniResult, CniRoute
from contivpy.controllers import naming
from contivpy.controllers.ipnet_vpp import Config, NodeContext
from contivpy.controllers.podmanager import LocalPod
from contivpy.models.vpp_interfaces import AfPacketLink, Interface, InterfaceType, TapLink
from contivpy.models.vpp_keys import arp_key, interface_key, route_key
from contivpy.models.vpp_l3 import IPNeighbor, Route
from contivpy.settings import IPAddress


def pod_vpp_interface_name(ctx: NodeContext, pod: LocalPod) -> str:
    """VPP's interface towards the pod (tap, or af_packet in veth mode)."""
    if ctx.settings.interfaces.use_tap_interfaces:
        return naming.pod_vpp_tap(pod.container_id)
    return naming.pod_afpacket(pod.container_id)


def render_pod_vpp(
    ctx: NodeContext, pod: LocalPod, ip: IPAddress, *, linux: bool = False
) -> Config:
    """VPP's side of one pod (``linux``: its Linux side is rendered too, so a veth-mode
    af_packet waits for the veth end it attaches to)."""
    s = ctx.settings
    cid = pod.container_id
    name = pod_vpp_interface_name(ctx, pod)
    link: TapLink | AfPacketLink
    if s.interfaces.use_tap_interfaces:
        kind = InterfaceType.TAP
        link = TapLink(
            host_if_name=pod.ifname,
            host_namespace=pod.netns,
            host_mac=naming.pod_mac(cid),
            host_mtu=s.interfaces.mtu_size,
            rx_ring_size=s.interfaces.tap_rx_ring_size,
            tx_ring_size=s.interfaces.tap_tx_ring_size,
        )
    else:
        kind = InterfaceType.AF_PACKET
        link = AfPacketLink(
            naming.pod_veth_host_name(cid),
            linux_interface=naming.pod_veth_on_host(cid) if linux else "",
        )
    config: Config = {
        interface_key(name): Interface(
            name,
            kind,
            phys_address=naming.pod_vpp_mac(cid),
            mtu=s.interfaces.mtu_size,
            vrf=s.pod_vrf_id,
            unnumbered=naming.POD_GW_LOOP,
            link=link,
        )
    }
    pod_ip = str(ip)
    config[arp_key(name, pod_ip)] = IPNeighbor(name, pod_ip, naming.pod_mac(cid))
    host_route = f"{ip}/{ip.max_prefixlen}"
    config[route_key(s.pod_vrf_id, host_route, pod_ip, name)] = Route(
        host_route, s.pod_vrf_id, pod_ip, name
    )
    return config


def pod_cni_result(ctx: NodeContext, pod: LocalPod, ip: IPAddress) -> CniResult:
    """The CNI result of a wired pod."""
    gateway = str(ctx.addresses.pod_gateway)
    default = "0.0.0.0/0" if ip.version == 4 else "::/0"
    return CniResult(
        interfaces=(CniInterface(pod.ifname, naming.pod_mac(pod.container_id), pod.netns),),
        ips=(CniIP(f"{ip}/{ip.max_prefixlen}", gateway, 0),),
        routes=(CniRoute(default, gateway),),
    )
