"""The pod side of a CNF's custom interfaces, for the agent inside it (microservice label).

In: the node context, a local pod with a ``contivpp.io/microservice-label`` and custom
interfaces, and the IPs ipam gave them. Out: ``vnf-config`` values
(:class:`~contivpy.models.vnf_writes.VnfConfigValue`): vpp-agent's configuration under
``/vnf-agent/<label>/config/...``, which the pod's own agent applies (Contiv's scheme):

- memif: a memif **slave** on the socket the container sees (``/run/vpp/memif.sock``, where
  the device plugin mounts the pod's socket directory), with the pod's secret and the memif ID
  of VPP's master, the pod-side MAC, and its IP; with an IP also a static neighbour for the
  gateway (VPP's master MAC) and a route to the cluster's pod network via the gateway;
- tap and veth: the Linux interface as ``EXISTING`` (the vswitch made the link) with its IP;
- every addressed interface: netalloc's record of its address in network ``contiv-<net>``.

Stub interfaces get their link only (no IP, no route, no record).
"""

from __future__ import annotations

from contivpy.controllers import naming
from contivpy.controllers.ipnet_vpp import Config, NodeContext
from contivpy.controllers.podmanager import LocalPod
from contivpy.deviceplugin.memif import CONTAINER_SOCKET
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.models.custom_if import CustomIfType
from contivpy.models.vnf_config import IPAllocation, VnfValue, encode_value, value_key
from contivpy.models.vnf_writes import VnfConfigValue, vnf_config_key
from contivpy.models.vpp_interfaces import Interface, InterfaceType, MemifLink, MemifMode
from contivpy.models.vpp_l3 import IPNeighbor, Route
from contivpy.settings import IPAddress


def render_microservice(ctx: NodeContext, pod: LocalPod, ips: dict[str, IPAddress]) -> Config:
    """The values for the pod's agent (empty for a pod without a microservice label)."""
    if not pod.microservice:
        return {}
    cid = pod.container_id
    gateway = str(ctx.addresses.pod_gateway)
    cluster = str(ctx.settings.ipam.pod_subnet_cidr)
    values: list[VnfValue] = []
    for interface in pod.custom:
        ip = ips.get(interface.name) if interface.addressed else None
        address = f"{ip}/{ip.max_prefixlen}" if ip is not None else ""
        if interface.type is CustomIfType.MEMIF:
            memif = pod.memif
            if memif is None:
                continue  # podmanager refuses a memif without a grant
            values.append(
                Interface(
                    interface.name,
                    InterfaceType.MEMIF,
                    phys_address=naming.pod_mac(cid, interface.name),
                    ip_addresses=(address,) if address else (),
                    link=MemifLink(
                        id=pod.memif_id(interface),
                        socket_filename=str(CONTAINER_SOCKET),
                        master=False,
                        mode=MemifMode.ETHERNET,
                        secret=memif.secret,
                    ),
                )
            )
            if address:
                vpp_mac = naming.pod_vpp_mac(cid, interface.name)
                values.append(IPNeighbor(interface.name, gateway, vpp_mac))
                values.append(Route(cluster, 0, gateway, interface.name))
        else:
            values.append(
                LinuxInterface(
                    interface.name,
                    LinuxInterfaceType.EXISTING,
                    host_if_name=interface.name,
                    ip_addresses=(address,) if address else (),
                )
            )
        if address:
            network = f"contiv-{interface.network}"
            values.append(IPAllocation(network, interface.name, address, gateway))
    config: Config = {}
    for value in values:
        relative = value_key(value)
        config[vnf_config_key(pod.microservice, relative)] = VnfConfigValue(
            pod.microservice, relative, encode_value(value)
        )
    return config
