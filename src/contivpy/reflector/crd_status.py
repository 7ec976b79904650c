"""The leader's status writer for ServiceFunctionChains, ExternalInterfaces and CustomNetworks.

In: the ``ReflectedView`` (chains, pods, ExternalInterfaces, CustomNetworks, nodes), the
store (the node IDs under ``<prefix>allocatedIDs/``, and the election fence), a ``KubeWriter``
(None: nothing is written). Out: each object's ``status`` and Events (``object_status``):

- a ServiceFunctionChain whose spec is refused (``contivpy.sfc.chains``): Ready False,
  reason ``InvalidSpec``, the problems (each naming ``spec.chain[i]`` and the field), and a
  Warning Event; else the path every node agent derives from the same facts
  (``contivpy.sfc.paths`` over ``contivpy.sfc.facts``): Ready True ``Rendered`` with the path,
  and a Normal Event whenever the rendered path changes (an operator sees re-routes), or
  Ready False ``NotRendered`` with why none is (missing element, every instance held by
  another chain) and a Warning Event;
- an ExternalInterface with refused entries (``contivpy.models.external_interfaces``: VLAN
  outside 1..4094, a VLAN taken twice on one NIC, a CustomNetwork that does not exist or was
  refused, an IP in an L2 network, ...): Ready False ``InvalidSpec`` and a Warning Event; one
  a node agent reports a problem with (``<prefix>reports/``, ``models/node_reports``: a NIC
  its VPP does not have, its own main interface named — only that node can know): Ready False
  ``NotApplied`` with the reports and a Warning Event; else Ready True ``Accepted`` with its
  entries' count and nodes;
- a refused CustomNetwork (``contivpy.models.custom_networks``: a built-in or taken name, a
  missing type, a ``subnetCIDR`` that is no network address, a ``subnetOneNodePrefixLen`` not
  longer than the subnet's, a subnet overlapping another network's): Ready False
  ``InvalidSpec``, the problems (each naming the field) and a Warning Event; else Ready True
  ``Accepted`` with what it is (``L3 10.200.0.0/16, /24 per node``, ``L2``, ``stub``). The
  reflector does not know the nodes' IPAM ranges: overlap with a node's pod, host,
  interconnect or service ranges is checked by the agents (logged there, and the pods joining
  the network are refused).

A pass computes everything (objects are few; a chain's path depends on every chain before
it). It runs when the term starts, whenever one of those kinds changes or a resync is asked
for, whenever a node ID record or an agent's report changes (watched in etcd), and after a failed
pass (with
back-off). Unchanged statuses are never rewritten, so a restarted reflector writes nothing.
Nothing is written to etcd; the fence is checked before a status is written so a deposed
leader stops reporting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TypeVar

import structlog

from contivpy.backoff import Backoff
from contivpy.models import custom_networks, external_interfaces
from contivpy.models.custom_networks import Network, NetworkKind, check_networks
from contivpy.models.decoded import DecodeError
from contivpy.models.external_interfaces import check_entries
from contivpy.models.k8s_codec import (
    ALLOCATED_IDS_PREFIX,
    CustomNetwork,
    ExternalInterface,
    K8sModel,
    Pod,
    ServiceFunctionChain,
    VppNode,
    decode,
)
from contivpy.models.node_reports import REPORTS_PREFIX, decode_report, parse_report_key
from contivpy.reflector.errors import LeadershipLostError
from contivpy.reflector.object_status import ObjectStatus, Readiness, object_path
from contivpy.reflector.source import KubeWriter
from contivpy.reflector.tasks import first_completed
from contivpy.reflector.view import ReflectedView
from contivpy.sfc.chains import Chain, chain_of
from contivpy.sfc.facts import external_facts, node_ids, pod_facts
from contivpy.sfc.paths import ClusterFacts, PodFacts, paths
from contivpy.store import Compare, Store, StoreError, Txn

log = structlog.get_logger(__name__)

CHAINS = "servicefunctionchain"
EXTERNAL = "external-interface"
NETWORK = "customnetwork"
POD = "pod"
NODE = "node"
KINDS = (CHAINS, POD, EXTERNAL, NETWORK, NODE)
STATUS_KINDS = (CHAINS, EXTERNAL, NETWORK)  # the kinds whose objects get a status
CHAIN_PLURAL = "servicefunctionchains"
EXTERNAL_PLURAL = "externalinterfaces"
NETWORK_PLURAL = "customnetworks"

M = TypeVar("M", bound=K8sModel)
Owner = tuple[str, str]  # (namespace, name)


def chain_readiness(
    chains: Iterable[ServiceFunctionChain],
    pods: Iterable[PodFacts],
    externals: Iterable[ExternalInterface],
    ids: Mapping[str, int],
) -> dict[Owner, Readiness]:
    """What each chain's status should say (see the module doc)."""
    verdicts: dict[Owner, Readiness] = {}
    valid: dict[str, Owner] = {}
    checked: list[Chain] = []
    for model in chains:
        owner = (model.namespace, model.name)
        chain, problems = chain_of(model)
        if problems:
            verdicts[owner] = Readiness(False, "InvalidSpec", "; ".join(problems))
            continue
        valid[chain.id] = owner
        checked.append(chain)
    if checked:
        facts = ClusterFacts(list(pods), external_facts(externals), dict(ids))
        for chain_id, path in paths(checked, facts).items():
            verdicts[valid[chain_id]] = (
                Readiness(True, "Rendered", path.describe())
                if path.rendered
                else Readiness(False, "NotRendered", path.reason)
            )
    return verdicts


def network_readiness(
    models: Iterable[CustomNetwork],
) -> tuple[dict[Owner, Readiness], dict[str, Network]]:
    """What each CustomNetwork's status should say (see the module doc), and the accepted
    networks by name."""
    listed = list(models)
    accepted, problems = check_networks(listed)
    verdicts: dict[Owner, Readiness] = {}
    for model in listed:
        refused = problems.get(custom_networks.owner_of(model), [])
        network = accepted.get(model.name)
        verdicts[(model.namespace, model.name)] = (
            Readiness(True, "Accepted", _summary(network))
            if network is not None and not refused
            else Readiness(False, "InvalidSpec", "; ".join(refused))
        )
    return verdicts, accepted


def _summary(network: Network) -> str:
    if network.kind is NetworkKind.L3:
        return f"L3 {network.subnet}, /{network.node_prefix_len} per node"
    return str(network.kind.value)


def external_readiness(
    models: Iterable[ExternalInterface],
    networks: Mapping[str, bool] | None = None,
    reported: Mapping[Owner, list[str]] | None = None,
) -> dict[Owner, Readiness]:
    """What each ExternalInterface's status should say (see the module doc); ``networks``:
    the accepted CustomNetworks and whether each is L3 (None: any name is taken for one);
    ``reported``: what node agents report about each (a NIC their VPP does not have...)."""
    listed = list(models)
    accepted, problems = check_entries(listed, networks)
    verdicts: dict[Owner, Readiness] = {}
    for model in listed:
        owner = external_interfaces.owner_of(model)
        mine = [entry for entry in accepted if entry.owner == owner]
        nodes = ", ".join(sorted({entry.node for entry in mine}))
        entries = f"{len(mine)} entry(ies)" + (f" on node(s) {nodes}" if nodes else "")
        refused = problems.get(owner)
        from_nodes = (reported or {}).get((model.namespace, model.name), [])
        if refused:
            readiness = Readiness(
                False, "InvalidSpec", "; ".join(refused + from_nodes) + f" ({entries} accepted)"
            )
        elif from_nodes:
            readiness = Readiness(False, "NotApplied", "; ".join(from_nodes))
        else:
            readiness = Readiness(True, "Accepted", entries)
        verdicts[(model.namespace, model.name)] = readiness
    return verdicts


class CrdStatusWriter:
    """Keeps the chains', ExternalInterfaces' and CustomNetworks' statuses current (see the
    module doc)."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        kube: KubeWriter | None,
        *,
        prefix: str,
        fence: Compare,
        retry: Backoff,
    ) -> None:
        self._store = store
        self._view = view
        self._ids_prefix = prefix + ALLOCATED_IDS_PREFIX
        self._reports_prefix = prefix + REPORTS_PREFIX
        self._prefix = prefix
        self._fence = fence
        self._retry = retry
        self._leading_checked = False  # in this pass
        self.chains = ObjectStatus(kube, "ServiceFunctionChain", guard=self._check_leading)
        self.externals = ObjectStatus(kube, "ExternalInterface", guard=self._check_leading)
        self.networks = ObjectStatus(kube, "CustomNetwork", guard=self._check_leading)
        self._pods: dict[str, tuple[bytes, PodFacts | None]] = {}  # key -> (bytes, facts)
        self._changed = asyncio.Event()
        self.passes = 0

    async def run(self) -> None:
        """Report until cancelled; raises ``LeadershipLostError`` when the fence fails."""
        await self._view.wait_all_listed()
        await first_completed(
            self._follow_view(),
            self._follow_store(self._ids_prefix),
            self._follow_store(self._reports_prefix),
            self._converge(),
        )

    async def _follow_view(self) -> None:
        seen: tuple[int, ...] = ()
        while True:
            await self._view.wait_versions(KINDS, seen)
            seen = self._view.versions(KINDS)
            self._changed.set()

    async def _follow_store(self, prefix: str) -> None:
        """Wake a pass whenever a key under ``prefix`` changes (node ID records, the agents'
        reports)."""
        delays = self._retry.delays()
        while True:
            try:
                listing = await self._store.list(prefix)
                self._changed.set()  # what changed before the watch opened
                async with self._store.watch(prefix, start_revision=listing.revision + 1) as events:
                    async for _ in events:
                        self._changed.set()
                        delays = self._retry.delays()
            except StoreError as error:  # compacted, or etcd away: list again
                log.info("watch restarting", prefix=prefix, error=str(error))
            await asyncio.sleep(next(delays))

    async def _converge(self) -> None:
        delays = self._retry.delays()
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.sync()
            except StoreError as error:
                delay = next(delays)
                log.warning("CRD statuses not reported; retrying", error=str(error))
                await asyncio.sleep(delay)
                self._changed.set()
                continue
            delays = self._retry.delays()
            self.passes += 1

    async def sync(self) -> None:
        """One pass: every chain's, ExternalInterface's and CustomNetwork's status made to
        match."""
        self._leading_checked = False
        network_verdicts, networks = network_readiness(
            self._models(NETWORK, CustomNetwork).values()
        )
        # Without CustomNetworks reflected, nothing says which exist: entries are taken as
        # they are (the agents check them against what they see).
        joinable = (
            {name: network.kind is NetworkKind.L3 for name, network in networks.items()}
            if NETWORK in self._view.kinds
            else None
        )
        externals = list(self._models(EXTERNAL, ExternalInterface).values())
        chains = list(self._models(CHAINS, ServiceFunctionChain).values())
        verdicts: dict[Owner, Readiness] = {}
        if chains:
            pods = self._pod_facts()
            verdicts = chain_readiness(chains, pods, externals, await self._node_ids())
        chain_paths = {owner: object_path(CHAIN_PLURAL, *owner) for owner in verdicts}
        self.chains.keep(chain_paths.values())
        for owner, readiness in sorted(verdicts.items()):
            await self.chains.report(chain_paths[owner], readiness, success_event=True)
        accepted = external_readiness(externals, joinable, await self._reports(EXTERNAL))
        external_paths = {owner: object_path(EXTERNAL_PLURAL, *owner) for owner in accepted}
        self.externals.keep(external_paths.values())
        for owner, readiness in sorted(accepted.items()):
            await self.externals.report(external_paths[owner], readiness)
        network_paths = {owner: object_path(NETWORK_PLURAL, *owner) for owner in network_verdicts}
        self.networks.keep(network_paths.values())
        for owner, readiness in sorted(network_verdicts.items()):
            await self.networks.report(network_paths[owner], readiness)

    async def _check_leading(self) -> None:
        """Once per pass, before the first status write: do we still hold the leader key?"""
        if self._leading_checked:
            return
        result = await self._store.txn(Txn(compare=(self._fence,)))
        if not result.succeeded:
            raise LeadershipLostError("the leader key no longer holds our identity")
        self._leading_checked = True

    async def _reports(self, resource: str) -> dict[Owner, list[str]]:
        """What the node agents report about objects of ``resource``, by object (every
        node's problems, in node order)."""
        listing = await self._store.list(self._reports_prefix)
        found: dict[Owner, list[str]] = {}
        for item in sorted(listing.items, key=lambda i: i.key):
            parsed = parse_report_key(item.key[len(self._prefix) :])
            if parsed is None or parsed[1].resource != resource:
                continue
            about = parsed[1]
            try:
                problems = decode_report(item.value)
            except ValueError as error:
                log.warning("node report unreadable", key=item.key, error=str(error))
                continue
            found.setdefault((about.namespace, about.name), []).extend(problems)
        return found

    async def _node_ids(self) -> dict[str, int]:
        listing = await self._store.list(self._ids_prefix)
        records: list[VppNode] = []
        for item in listing.items:
            try:
                decoded = decode(item.key[len(self._prefix) :], item.value)
            except DecodeError:
                continue  # not a record we can read; the agents' nodesync reports it
            if decoded is not None and isinstance(decoded.model, VppNode):
                records.append(decoded.model)
        return node_ids(records)

    def _pod_facts(self) -> list[PodFacts]:
        """Every reflected pod's facts; a pod is decoded again only when its bytes changed."""
        objects = self._view.objects(POD) if POD in self._view.kinds else {}
        for key in self._pods.keys() - objects.keys():
            del self._pods[key]
        for key, value in objects.items():
            cached = self._pods.get(key)
            if cached is None or cached[0] != value:
                pod = decoded_as(key, value, Pod)
                self._pods[key] = (value, pod_facts(pod) if pod is not None else None)
        return [facts for _, facts in self._pods.values() if facts is not None]

    def _models(self, kind: str, model: type[M]) -> dict[str, M]:
        if kind not in self._view.kinds:
            return {}
        found: dict[str, M] = {}
        for key, value in self._view.objects(kind).items():
            decoded = decoded_as(key, value, model)
            if decoded is not None:
                found[key] = decoded
        return found


def decoded_as(key: str, value: bytes, model: type[M]) -> M | None:
    """The reflected object at ``key`` if it decodes as ``model``; None otherwise."""
    try:
        decoded = decode(key, value)
    except DecodeError as error:  # the informer wrote it: cannot happen but log it
        log.warning("reflected object unreadable", key=key, error=str(error))
        return None
    if decoded is not None and isinstance(decoded.model, model):
        return decoded.model
    return None
