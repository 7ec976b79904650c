"""What ``contivpy ctl pods``, ``nodes`` and ``ipam`` show, read off a running agent.

In: a NodeAgent's controllers (podmanager's registry, ipam's plan and allocations,
nodesync's nodes, ipnet's naming) and its scheduler's desired values, states and metadata.
Out: the debug API's views (``contivpy.api.introspection``). Read-only: nothing here changes
the agent or calls VPP. Memif secrets are in no view; they are read only to mask them in
VPP's own text (``masked``: ``ctl vpp cli``), where VPP may print them (its API trace).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING

from contivpy.api.introspection import (
    IpAllocationView,
    IpamView,
    NodeView,
    PodInterfaceView,
    PodView,
)
from contivpy.api.rendering import MASK
from contivpy.controllers import naming
from contivpy.controllers.addressing import AddressPlanError
from contivpy.controllers.ipnet_custom import custom_vpp_name
from contivpy.controllers.ipnet_pods import pod_vpp_interface_name
from contivpy.controllers.podmanager import LocalPod
from contivpy.models.custom_if import DEFAULT_NETWORK
from contivpy.models.vpp_interfaces import Interface, MemifLink, VxlanLink
from contivpy.models.vpp_keys import INTERFACE_PREFIX, interface_key

if TYPE_CHECKING:
    from contivpy.agent.node_agent import NodeAgent


def pods(agent: NodeAgent) -> list[PodView]:
    """Every pod wired on this node, by namespace and name."""
    node = agent.config.settings.node_name
    out = []
    for pod_id in sorted(agent.pods.pods, key=lambda p: (p.namespace, p.name)):
        local = agent.pods.pods[pod_id]
        main_ip = agent.ipam.ip_of(pod_id)
        custom_ips = agent.ipam.custom_ips_of(pod_id)
        interfaces = _pod_interfaces(agent, local, str(main_ip or ""), custom_ips)
        ips = [str(main_ip)] if main_ip is not None else []
        ips += [str(custom_ips[i.name]) for i in local.custom if i.name in custom_ips]
        out.append(
            PodView(
                namespace=pod_id.namespace,
                name=pod_id.name,
                node=node,
                container_id=local.container_id,
                netns=local.netns,
                ips=tuple(ips),
                interfaces=tuple(interfaces),
            )
        )
    return out


def _pod_interfaces(
    agent: NodeAgent, local: LocalPod, main_ip: str, custom_ips: Mapping[str, object]
) -> list[PodInterfaceView]:
    if not agent.ipam.ready:
        return []  # not wired before the node has an ID
    use_tap = agent.config.settings.interfaces.use_tap_interfaces
    main = _interface_view(
        agent,
        local.ifname,
        pod_vpp_interface_name(agent.ipnet.context(), local),
        "tap" if use_tap else "veth",
        DEFAULT_NETWORK,
        main_ip,
    )
    views = [main]
    for custom in local.custom:
        ip = custom_ips.get(custom.name)
        views.append(
            _interface_view(
                agent,
                custom.name,
                custom_vpp_name(custom, local),
                custom.type.value,
                custom.network,
                str(ip) if ip is not None else "",
            )
        )
    return views


def _interface_view(
    agent: NodeAgent, in_pod: str, name: str, kind: str, network: str, ip: str
) -> PodInterfaceView:
    key = interface_key(name)
    meta = agent.scheduler.metadata(key)
    sw_if_index = getattr(meta, "sw_if_index", None)
    return PodInterfaceView(
        pod_interface=in_pod,
        name=name,
        kind=kind,
        network=network,
        ip=ip,
        state=agent.scheduler.status(key).state.value,
        sw_if_index=sw_if_index if isinstance(sw_if_index, int) else None,
        vpp_name=str(getattr(meta, "vpp_name", "") or ""),
    )


def nodes(agent: NodeAgent) -> list[NodeView]:
    """Every node with an ID (this one included), by ID, with this node's tunnel to it."""
    own = agent.config.settings.node_name
    out = []
    for info in sorted(agent.nodesync.nodes.values(), key=lambda n: n.id):
        this_node = info.name == own
        pod_subnet = ""
        with contextlib.suppress(AddressPlanError):  # an ID outside the plan: no subnet
            pod_subnet = str(agent.ipam.plan.node(info.id).pod_subnet)
        tunnel = "" if this_node else naming.vxlan_tunnel(info.id)
        value = agent.scheduler.desired_value(interface_key(tunnel)) if tunnel else None
        link = value.link if isinstance(value, Interface) else None
        vxlan = link if isinstance(link, VxlanLink) else None
        out.append(
            NodeView(
                id=info.id,
                name=info.name,
                this_node=this_node,
                vpp_addresses=tuple(info.vpp_addresses),
                mgmt_addresses=tuple(info.mgmt_addresses),
                pod_subnet=pod_subnet,
                vxlan_tunnel=tunnel if vxlan is not None else "",
                vxlan_src=vxlan.src_address if vxlan is not None else "",
                vxlan_dst=vxlan.dst_address if vxlan is not None else "",
                vxlan_vni=vxlan.vni if vxlan is not None else 0,
                vxlan_state=(
                    agent.scheduler.status(interface_key(tunnel)).state.value
                    if vxlan is not None
                    else ""
                ),
            )
        )
    return out


def ipam(agent: NodeAgent) -> IpamView:
    """This node's address plan, VRFs, IPAM settings and who holds which IP."""
    settings = agent.config.settings
    ipam_settings = settings.ipam
    config = {
        "podSubnetCIDR": str(ipam_settings.pod_subnet_cidr),
        "podSubnetOneNodePrefixLen": str(ipam_settings.pod_subnet_one_node_prefix_len),
        "vppHostSubnetCIDR": str(ipam_settings.vpp_host_subnet_cidr),
        "vppHostSubnetOneNodePrefixLen": str(ipam_settings.vpp_host_subnet_one_node_prefix_len),
        "nodeInterconnectCIDR": str(ipam_settings.node_interconnect_cidr),
        "vxlanCIDR": str(ipam_settings.vxlan_cidr),
        "serviceCIDR": str(ipam_settings.service_cidr),
        "defaultGateway": str(ipam_settings.default_gateway or ""),
    }
    unplanned = IpamView(
        node_name=settings.node_name,
        ready=False,
        main_vrf_id=settings.main_vrf_id,
        pod_vrf_id=settings.pod_vrf_id,
        config=config,
    )
    if not agent.ipam.ready:
        return unplanned
    plan = agent.ipam.addresses
    allocations = [
        IpAllocationView(ip=str(ip), pod=str(pod)) for pod, ip in agent.ipam.allocations().items()
    ]
    for pod_id, local in agent.pods.pods.items():
        networks = {c.name: c.network for c in local.custom}
        for interface, ip in agent.ipam.custom_ips_of(pod_id).items():
            network = networks.get(interface, DEFAULT_NETWORK)
            allocations.append(IpAllocationView(str(ip), str(pod_id), interface, network))
    allocations.sort(key=lambda a: (a.network != DEFAULT_NETWORK, a.network, _ip_order(a.ip)))
    return dataclasses.replace(
        unplanned,
        ready=True,
        node_id=plan.node_id,
        node_ip=str(plan.node_address),
        pod_subnet=str(plan.pod_subnet),
        pod_gateway=str(plan.pod_gateway),
        nat_loopback=str(plan.nat_loopback),
        vpp_host_subnet=str(plan.host_subnet),
        host_vpp_address=str(plan.host_vpp_address),
        host_linux_address=str(plan.host_linux_address),
        vxlan_address=str(plan.vxlan_address),
        allocations=tuple(allocations),
    )


def masked(agent: NodeAgent, text: str) -> str:
    """VPP's ``text`` with every memif secret this node's VPP may hold replaced by MASK: its
    memif interfaces' (desired or applied) and its pods' memif grants."""
    scheduler = agent.scheduler
    values = [*scheduler.desired(INTERFACE_PREFIX).values()]
    values += scheduler.applied(INTERFACE_PREFIX).values()
    secrets = {
        value.link.secret
        for value in values
        if isinstance(value, Interface) and isinstance(value.link, MemifLink)
    }
    secrets |= {pod.memif.secret for pod in agent.pods.pods.values() if pod.memif is not None}
    for secret in sorted(secrets - {""}, key=len, reverse=True):  # a longer one first
        text = text.replace(secret, MASK)
    return text


def _ip_order(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return address.version, int(address)
