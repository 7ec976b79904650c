"""extif: ExternalInterfaces — this node's NICs (or VLAN sub-interfaces of them) put to use.

In: reflected ExternalInterfaces (resyncs and their KubeStateChanges), checked by
``models/external_interfaces.py`` against the CustomNetworks that exist (``customnetworks``,
which runs before it and puts interfaces of L2 networks into their bridge domains). Out:
desired VPP values for every accepted entry whose ``node`` is this node: the named VPP
interface (a NIC VPP already has: configured, never created) brought up; with ``vlan`` the
parent stays without an IP and the sub-interface ``<nic>.<vlan>`` (dot1q, exact match)
carries the rest; in a stub network the link only, in the default network the pod VRF with
the entry's IP, in an L3 CustomNetwork that network's VRF with the IP, in an L2 one nothing
more here (its bridge domain has it). Changes put and delete only what differs.

A VLAN sub-interface in L2 (a stub network's, an L2 network's) pops its tag
(``SubInterfaceLink.pop_tags`` 1: VPP's L2 VLAN tag rewrite "pop 1"): what it carries is
cross-connected into a service function chain (or bridged), and the chain carries untagged
frames - the CNFs behind it see plain Ethernet, and the frame that leaves the chain by another
sub-interface of the NIC gets that sub-interface's VLAN pushed on the way out. The tag is the
NIC's business, not the chain's: without the rewrite VPP forwards an L2 frame with the tag it
came with, so a frame from VLAN 200 would reach the CNF tagged 200 and leave by ``.300`` still
tagged 200. A default-network (L3) sub-interface needs none: VPP strips and adds the tag itself
when it routes.

Refused entries (the rules' problems, and here also the node's own main interface, which the
base configuration owns) are logged and kept in ``problems`` by object; the reflector reports
the rules' problems on the objects' statuses. The other entries are applied.
"""

from __future__ import annotations

import structlog

from contivpy.controllers.base import ControllerBase, changes_between, fold_change, reflected
from contivpy.controllers.custom_networks import CustomNetworks
from contivpy.events.types import Config, Event, KubeState, KubeStateChange, UpdateResult
from contivpy.models.external_interfaces import DEFAULT_NETWORK, ExternalEntry, check_entries
from contivpy.models.k8s_codec import ExternalInterface
from contivpy.models.vpp_interfaces import Interface, InterfaceType, SubInterfaceLink
from contivpy.models.vpp_keys import interface_key
from contivpy.settings import AgentSettings

log = structlog.get_logger(__name__)

RESOURCE = "external-interface"
NETWORKS = "customnetwork"


class ExternalInterfaces(ControllerBase[None]):
    """See the module docstring."""

    name = "extif"

    def __init__(self, settings: AgentSettings, networks: CustomNetworks) -> None:
        self._settings = settings
        self._networks = networks
        self._models: dict[str, ExternalInterface] = {}
        self._config: Config = {}
        self.problems: dict[str, list[str]] = {}  # by object: every refused entry's problem
        self.node_problems: dict[str, list[str]] = {}  # by object: refusals only this node makes
        self.applied: list[ExternalEntry] = []  # this node's entries, rendered

    def handles(self, event: Event) -> bool:
        return isinstance(event, KubeStateChange) and event.resource in (RESOURCE, NETWORKS)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._models = reflected(state, RESOURCE, ExternalInterface)
        self._config = self._render()
        return dict(self._config)

    async def update(self, event: Event) -> UpdateResult[None]:
        if not isinstance(event, KubeStateChange):
            return UpdateResult()
        if event.resource == RESOURCE:
            fold_change(self._models, event, ExternalInterface)
        before, after = self._config, self._render()
        self._config = after
        changes = changes_between(before, after)
        if not changes:
            return UpdateResult()
        return UpdateResult(f"external interfaces: {len(changes)} value(s) changed", changes)

    def _render(self) -> Config:
        node = self._settings.node_name
        accepted, problems = check_entries(self._models.values(), self._networks.kinds())
        self.problems = {}
        self.node_problems = {}
        self.applied = []
        for owner, found in problems.items():
            for problem in found:
                log.warning("external interface entry refused", error=problem)
            self.problems[owner] = list(found)
        config: Config = {}
        for entry in accepted:
            if entry.node != node:
                continue
            if entry.nic == self._settings.interfaces.main_interface:
                problem = (
                    f"{entry.where}: vppInterfaceName {entry.nic!r} is the node's main interface"
                )
                log.warning("external interface entry refused", error=problem)
                self.problems.setdefault(entry.owner, []).append(problem)
                self.node_problems.setdefault(entry.owner, []).append(problem)
                continue
            self.applied.append(entry)
            ips = (entry.ip,) if entry.ip else ()
            vrf = self._vrf(entry)
            if entry.vlan:
                config.setdefault(
                    interface_key(entry.nic), Interface(entry.nic, InterfaceType.DPDK)
                )
                name = entry.vpp_interface
                config[interface_key(name)] = Interface(
                    name,
                    InterfaceType.SUB_INTERFACE,
                    vrf=vrf,
                    ip_addresses=ips,
                    link=SubInterfaceLink(entry.nic, entry.vlan, pop_tags=int(self._in_l2(entry))),
                )
            else:
                config[interface_key(entry.nic)] = Interface(
                    entry.nic, InterfaceType.DPDK, vrf=vrf, ip_addresses=ips
                )
        return config

    def _vrf(self, entry: ExternalEntry) -> int:
        """The VRF of an entry's network (0: none; the default network's is the pod VRF)."""
        if entry.stub:
            return 0
        if entry.network == DEFAULT_NETWORK:
            return self._settings.pod_vrf_id
        side = self._networks.side(entry.network)
        return side.vrf if side is not None else 0

    def _in_l2(self, entry: ExternalEntry) -> bool:
        """Whether the entry's interface forwards in L2 (a stub or an L2 network)."""
        if entry.stub:
            return True
        side = self._networks.side(entry.network)
        return side is not None and not side.addressed and entry.network != DEFAULT_NETWORK
