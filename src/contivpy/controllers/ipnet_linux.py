"""What ipnet puts in Linux: the host's end of the interconnect and each pod's side.

In: the node context, a local pod and its IP. Out: Linux values keyed by their scheduler
keys: the host end of the interconnect (``vpp1`` with 172.30.<id>.2/24, and a route to the
cluster pod range via VPP's end), and for each pod — a value for its network namespace (so
everything in it waits while the namespace does not exist), ``eth0`` in it with ``<ip>/32``
and the pod MAC, a link-scope route to the gateway, the default route via the gateway and a
static ARP entry for the gateway → VPP's MAC of the pod's interface. In veth mode the pod's
interface is a veth pair whose host end VPP attaches to with af_packet.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.controllers import naming
from contivpy.controllers.ipnet_pods import pod_vpp_interface_name
from contivpy.controllers.ipnet_vpp import Config, NodeContext
from contivpy.controllers.podmanager import LocalPod
from contivpy.linux import keys
from contivpy.linux.models import (
    LinuxARP,
    LinuxInterface,
    LinuxInterfaceType,
    LinuxRoute,
    LinuxRouteScope,
)
from contivpy.linux.netlink_types import NetnsRef
from contivpy.settings import AgentSettings, IPAddress


@dataclass(frozen=True, slots=True)
class PodLink:
    """One interface of a pod, on its Linux side: ``name`` (the logical name) is
    ``host_if_name`` in the pod; a tap's VPP end is ``vpp_tap``, a veth's other end is
    ``host_end`` (logical), named ``host_end_name`` in the host namespace."""

    name: str
    host_if_name: str
    vpp_tap: str = ""
    host_end: str = ""
    host_end_name: str = ""


def veth_checksum_offload(settings: AgentSettings) -> bool | None:
    """What the veths' TX checksum offload is set to: off (Contiv's
    ``tcpChecksumOffloadDisabled``), or None, the kernel's own."""
    return False if settings.interfaces.tcp_checksum_offload_disabled else None


def render_pod_link(
    link: PodLink,
    netns: NetnsRef,
    mtu: int,
    mac: str,
    addresses: tuple[str, ...],
    tx_checksum_offload: bool | None = None,
) -> Config:
    """The Linux values of one pod interface: the tap's Linux end, or both ends of the veth
    (with ``tx_checksum_offload``, see ``LinuxInterface``)."""
    if not link.host_end:
        return {
            keys.interface_key(link.name): LinuxInterface(
                link.name,
                LinuxInterfaceType.TAP_TO_VPP,
                host_if_name=link.host_if_name,
                namespace=netns,
                mtu=mtu,
                phys_address=mac,
                ip_addresses=addresses,
                vpp_tap=link.vpp_tap,
            )
        }
    return {
        keys.interface_key(link.name): LinuxInterface(
            link.name,
            LinuxInterfaceType.VETH,
            host_if_name=link.host_if_name,
            namespace=netns,
            mtu=mtu,
            phys_address=mac,
            ip_addresses=addresses,
            veth_peer=link.host_end,
            tx_checksum_offload=tx_checksum_offload,
        ),
        keys.interface_key(link.host_end): LinuxInterface(
            link.host_end,
            LinuxInterfaceType.VETH,
            host_if_name=link.host_end_name,
            mtu=mtu,
            veth_peer=link.name,
            tx_checksum_offload=tx_checksum_offload,
        ),
    }


class LinuxSide:
    """The ipnet LinuxRenderer."""

    def render_base(self, ctx: NodeContext) -> Config:
        """The host's end of the host interconnect."""
        a = ctx.addresses
        host = f"{a.host_linux_address}/{a.host_subnet.prefixlen}"
        config: Config = {}
        if ctx.settings.interfaces.use_tap_interfaces:
            name = naming.HOST_INTERCONNECT_LINUX
            config[keys.interface_key(name)] = LinuxInterface(
                name,
                LinuxInterfaceType.TAP_TO_VPP,
                host_if_name=naming.HOST_INTERCONNECT_HOST_NAME,
                ip_addresses=(host,),
                vpp_tap=naming.HOST_INTERCONNECT_VPP,
            )
        else:
            name = naming.HOST_VETH_LINUX
            config[keys.interface_key(name)] = LinuxInterface(
                name,
                LinuxInterfaceType.VETH,
                host_if_name=naming.HOST_INTERCONNECT_HOST_NAME,
                ip_addresses=(host,),
                veth_peer=naming.HOST_VETH_VPP,
                tx_checksum_offload=veth_checksum_offload(ctx.settings),
            )
            config[keys.interface_key(naming.HOST_VETH_VPP)] = LinuxInterface(
                naming.HOST_VETH_VPP,
                LinuxInterfaceType.VETH,
                host_if_name=naming.HOST_VETH_VPP_HOST_NAME,
                veth_peer=naming.HOST_VETH_LINUX,
                tx_checksum_offload=veth_checksum_offload(ctx.settings),
            )
        cluster_pods = str(ctx.settings.ipam.pod_subnet_cidr)
        config[keys.route_key(cluster_pods, name)] = LinuxRoute(
            cluster_pods, name, gw_addr=str(a.host_vpp_address)
        )
        return config

    def render_pod(self, ctx: NodeContext, pod: LocalPod, ip: IPAddress) -> Config:
        """The pod's side, inside its network namespace."""
        s = ctx.settings
        cid = pod.container_id
        netns = NetnsRef.parse(pod.netns)
        config: Config = {keys.netns_key(netns): netns}
        address = f"{ip}/{ip.max_prefixlen}"
        if s.interfaces.use_tap_interfaces:
            name = naming.pod_linux_tap(cid)
            link = PodLink(name, pod.ifname, vpp_tap=pod_vpp_interface_name(ctx, pod))
        else:
            name = naming.pod_veth_in_pod(cid)
            link = PodLink(
                name,
                pod.ifname,
                host_end=naming.pod_veth_on_host(cid),
                host_end_name=naming.pod_veth_host_name(cid),
            )
        config.update(
            render_pod_link(
                link,
                netns,
                s.interfaces.mtu_size,
                naming.pod_mac(cid),
                (address,),
                veth_checksum_offload(s),
            )
        )
        gateway = str(ctx.addresses.pod_gateway)
        gateway_host = f"{gateway}/{ip.max_prefixlen}"
        default = "0.0.0.0/0" if ip.version == 4 else "::/0"
        config[keys.route_key(gateway_host, name)] = LinuxRoute(
            gateway_host, name, scope=LinuxRouteScope.LINK, namespace=netns
        )
        config[keys.route_key(default, name)] = LinuxRoute(
            default, name, gw_addr=gateway, namespace=netns
        )
        config[keys.arp_key(name, gateway)] = LinuxARP(name, gateway, naming.pod_vpp_mac(cid))
        return config
