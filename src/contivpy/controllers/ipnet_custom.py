"""What wiring a pod's custom interfaces takes, on VPP's side and in the pod.

In: the node context, a local pod with its custom interfaces (``models/custom_if.py``),
the IPs ipam gave those in the default network, and the pod's memif socket. Out: VPP values
per custom interface and the pod's side of its taps and veths in Linux, plus the CNI result's
entries for them. Names and MACs follow Contiv's scheme (``naming.custom_*``; MACs hashed from
"<container>/<interface>").

- tap: a VPP tap whose Linux end is ``<name>`` in the pod's namespace; veth: a veth pair
  (``<name>`` in the pod, the other end in the host namespace) with VPP's af_packet on the
  host end, as the main interface in veth mode; memif: a VPP memif **master** in ethernet mode
  on the pod's socket file (from its memif grant) with the grant's secret, memif IDs 1..n per
  pod in name order.
- default network: in the pod VRF, unnumbered to ``podGwLoop``, with the interface's own IP:
  a /32 route to it in the pod VRF; for tap and veth a static neighbour on VPP's side and, in
  the pod, the IP and a static neighbour for the gateway (the pod's default route stays on its
  main interface). stub network: the link only — no VRF, IP, route or neighbour.
- an L3 CustomNetwork (``networks``: its side on this node, from ``customnetworks``): as the
  default network, in the network's VRF, unnumbered to ``podGwLoop-<net>``, with an IP of the
  node's slice of the network; in the pod also a link route to that gateway and, on the first
  interface of the network in the pod, a route to the whole network subnet via it (Contiv's).
  An L2 CustomNetwork: the link (its bridge domain is ``customnetworks``'); a network that is
  gone: the link only.
- a pod with a microservice label (a CNF with its own agent) gets its tap and veth links only
  (``linkOnly``): addresses in the pod are its agent's business, and so is its memif slave.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.cni.types import CniInterface, CniIP
from contivpy.controllers import naming
from contivpy.controllers.custom_network_render import NetworkSides
from contivpy.controllers.ipnet_linux import PodLink, render_pod_link, veth_checksum_offload
from contivpy.controllers.ipnet_vpp import Config, NodeContext
from contivpy.controllers.podmanager import LocalPod
from contivpy.linux import keys
from contivpy.linux.models import LinuxARP, LinuxRoute, LinuxRouteScope
from contivpy.linux.netlink_types import NetnsRef
from contivpy.models.custom_if import DEFAULT_NETWORK, CustomIfType, CustomInterface
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    MemifMode,
    TapLink,
)
from contivpy.models.vpp_keys import arp_key, interface_key, route_key
from contivpy.models.vpp_l3 import IPNeighbor, Route
from contivpy.settings import IPAddress


def custom_vpp_name(interface: CustomInterface, pod: LocalPod) -> str:
    """VPP's interface of a custom interface."""
    return naming.custom_vpp_interface(interface.type.value, interface.name, pod.container_id)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a custom interface sits: its VRF and gateway loopback (None: in L3 nowhere,
    the link only) and its gateway's address."""

    vrf: int = 0
    gateway_loop: str | None = None
    gateway: IPAddress | None = None
    subnet: str = ""  # an L3 CustomNetwork's whole subnet (the pod's route to it)


def placement(
    ctx: NodeContext, interface: CustomInterface, networks: NetworkSides | None
) -> Placement:
    """Where ``interface`` sits on this node (see the module doc)."""
    if interface.network == DEFAULT_NETWORK:
        return Placement(ctx.settings.pod_vrf_id, naming.POD_GW_LOOP, ctx.addresses.pod_gateway)
    side = networks.side(interface.network) if networks is not None else None
    if side is None or not side.addressed or side.network.subnet is None:
        return Placement()
    return Placement(side.vrf, side.gateway_loop, side.gateway, str(side.network.subnet))


def render_custom_vpp(
    ctx: NodeContext,
    pod: LocalPod,
    ips: dict[str, IPAddress],
    *,
    linux: bool = False,
    networks: NetworkSides | None = None,
) -> Config:
    """VPP's side of the pod's custom interfaces (``linux``: the Linux side is rendered too,
    so an af_packet waits for the veth end it attaches to)."""
    s = ctx.settings
    cid = pod.container_id
    config: Config = {}
    for interface in pod.custom:
        name = custom_vpp_name(interface, pod)
        where = placement(ctx, interface, networks)
        ip = ips.get(interface.name) if where.gateway_loop else None
        kind, link = _vpp_link(ctx, pod, interface, linux=linux)
        config[interface_key(name)] = Interface(
            name,
            kind,
            phys_address=naming.pod_vpp_mac(cid, interface.name),
            mtu=s.interfaces.mtu_size,
            vrf=where.vrf,
            unnumbered=where.gateway_loop,
            link=link,
        )
        if ip is None:
            continue
        address = str(ip)
        host_route = f"{ip}/{ip.max_prefixlen}"
        config[route_key(where.vrf, host_route, address, name)] = Route(
            host_route, where.vrf, address, name
        )
        if interface.type is not CustomIfType.MEMIF and not pod.microservice:
            config[arp_key(name, address)] = IPNeighbor(
                name, address, naming.pod_mac(cid, interface.name)
            )
    return config


def _vpp_link(
    ctx: NodeContext, pod: LocalPod, interface: CustomInterface, *, linux: bool
) -> tuple[InterfaceType, TapLink | AfPacketLink | MemifLink]:
    s = ctx.settings
    cid = pod.container_id
    if interface.type is CustomIfType.TAP:
        return InterfaceType.TAP, TapLink(
            host_if_name=interface.name,
            host_namespace=pod.netns,
            host_mac=naming.pod_mac(cid, interface.name),
            host_mtu=s.interfaces.mtu_size,
            rx_ring_size=s.interfaces.tap_rx_ring_size,
            tx_ring_size=s.interfaces.tap_tx_ring_size,
        )
    if interface.type is CustomIfType.VETH:
        return InterfaceType.AF_PACKET, AfPacketLink(
            naming.custom_veth_host_name(interface.name, cid),
            linux_interface=naming.custom_veth_on_host(interface.name, cid) if linux else "",
        )
    memif = pod.memif
    if memif is None:  # podmanager refuses a memif without a grant; never rendered without
        raise ValueError(f"pod {pod.pod}: memif {interface.name} without a memif socket")
    return InterfaceType.MEMIF, MemifLink(
        id=pod.memif_id(interface),
        socket_filename=memif.socket_path,
        socket_id=memif.socket_id,
        master=True,
        mode=MemifMode.ETHERNET,
        secret=memif.secret,
    )


def render_custom_linux(
    ctx: NodeContext,
    pod: LocalPod,
    ips: dict[str, IPAddress],
    networks: NetworkSides | None = None,
) -> Config:
    """The pod's side of its custom taps and veths, in its network namespace."""
    s = ctx.settings
    cid = pod.container_id
    netns = NetnsRef.parse(pod.netns)
    config: Config = {}
    routed: set[str] = set()  # custom networks whose subnet route the pod has
    for interface in pod.custom:
        if interface.type is CustomIfType.MEMIF:
            continue
        where = placement(ctx, interface, networks)
        gateway = str(where.gateway)
        ip = ips.get(interface.name) if where.gateway_loop else None
        addresses = (f"{ip}/{ip.max_prefixlen}",) if ip is not None and not pod.microservice else ()
        if interface.type is CustomIfType.TAP:
            name = naming.custom_linux_tap(interface.name, cid)
            link = PodLink(name, interface.name, vpp_tap=naming.custom_vpp_tap(interface.name, cid))
        else:
            name = naming.custom_veth_in_pod(interface.name, cid)
            link = PodLink(
                name,
                interface.name,
                host_end=naming.custom_veth_on_host(interface.name, cid),
                host_end_name=naming.custom_veth_host_name(interface.name, cid),
            )
        mac = naming.pod_mac(cid, interface.name)
        config.update(
            render_pod_link(
                link, netns, s.interfaces.mtu_size, mac, addresses, veth_checksum_offload(s)
            )
        )
        if addresses:
            vpp_mac = naming.pod_vpp_mac(cid, interface.name)
            config[keys.arp_key(name, gateway)] = LinuxARP(name, gateway, vpp_mac)
            if where.subnet and interface.network not in routed:
                routed.add(interface.network)
                gateway_host = f"{gateway}/{ip.max_prefixlen}" if ip is not None else ""
                config[keys.route_key(gateway_host, name)] = LinuxRoute(
                    gateway_host, name, scope=LinuxRouteScope.LINK, namespace=netns
                )
                config[keys.route_key(where.subnet, name)] = LinuxRoute(
                    where.subnet, name, gw_addr=gateway, namespace=netns
                )
    return config


def custom_cni_entries(
    ctx: NodeContext,
    pod: LocalPod,
    ips: dict[str, IPAddress],
    first_index: int,
    networks: NetworkSides | None = None,
) -> tuple[tuple[CniInterface, ...], tuple[CniIP, ...]]:
    """The CNI result's interfaces (taps and veths: memifs are no netdev in the pod) and
    their IPs; ``first_index`` is the index the first of them gets in the result."""
    interfaces: list[CniInterface] = []
    addresses: list[CniIP] = []
    for interface in pod.custom:
        if interface.type is CustomIfType.MEMIF:
            continue
        index = first_index + len(interfaces)
        mac = naming.pod_mac(pod.container_id, interface.name)
        interfaces.append(CniInterface(interface.name, mac, pod.netns))
        where = placement(ctx, interface, networks)
        ip = ips.get(interface.name) if where.gateway_loop else None
        if ip is not None:
            addresses.append(CniIP(f"{ip}/{ip.max_prefixlen}", str(where.gateway), index))
    return tuple(interfaces), tuple(addresses)
