"""policies: Kubernetes NetworkPolicies as VPP ACLs (Contiv's policy plugin with its ACL
renderer).

In: reflected NetworkPolicies, pods and namespaces (resyncs and their KubeStateChanges); this
node's address plan (ipam: the NAT loopback, the one the services controller twice-NATs to;
the node-facing interfaces); local pods with their IPs and VPP interfaces (podmanager, ipam;
AddPod / DeletePod). Out: the ACL values of ``policy_render`` as changes of only the values
that differ, and ``problems`` (by policy ID): the refused policies.

A pod's facts come from its reflected object; a pod wired here uses the IP ipam gave it (its
reflected IP may not have arrived yet, and until it does the pod would be unisolated).

Incremental: the ``PolicyBook`` names the local pods whose table changed; only their
interfaces' values are set again. ACL names are hashes of their rules, so an ACL in use never
changes, except ``NODE-GLOBAL``, which is replaced in place. An ACL no interface names any
more is kept until a later transaction (the ``PolicyCleanup`` follow-up event): deleting it
in the transaction that re-points its interfaces would make the scheduler clear their lists
first, and for a moment everything would pass (docs/POLICIES.md). After the cleanup the
desired values always equal a render of everything from scratch (``policy_render.render_all``),
which is what a resync (an agent restart) wants.

Until the first NetworkPolicy the book holds no pods: with none, no pod has a table whatever
the pods are, and telling it every reflected pod at a resync was ~0.3 s of an agent's start
at 10,000 pods (``bench eventlog``). The first policy (at a resync or as a change) tells it
every pod first, so the book then holds what it would have held all along.

Bad input: a policy ``compile_policy`` refuses is reported (log, the change line of the event
that found it, a resync's too, ``problems``; the reflector's leader posts an Event on it) and
not applied at all, as if absent ("fail open" for that policy): what a node enforces is then
a function of what is reflected now — the same after an agent restart and on every node —
whereas keeping its last valid version would depend on what each agent happened to see
(docs/POLICIES.md, "Policy controller and ACL renderer").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from contivpy.controllers import naming
from contivpy.controllers.base import (
    ControllerBase,
    changed_problems,
    problem_lines,
    reflected,
    restore,
    set_tracked,
    tracked_changes,
)
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.ipnet_vpp import NodeContext
from contivpy.controllers.podmanager import PodManager, pod_id
from contivpy.controllers.policy_render import (
    ACL_PREFIX,
    GLOBAL_ACL,
    REFLECTION,
    REFLECTION_ACL,
    global_value,
    node_interface,
    pod_interface,
    render_all,
    table_value,
)
from contivpy.events.types import (
    AddPod,
    Config,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    ResyncResult,
    UpdateResult,
)
from contivpy.models.k8s_codec import Namespace, Pod, Policy
from contivpy.models.vpp_acl import Acl, AclInterfaces
from contivpy.models.vpp_keys import acl_interface_key, acl_key, parse_acl_key
from contivpy.policy.book import PolicyBook
from contivpy.policy.facts import PodFacts, pod_facts
from contivpy.policy.model import PolicyError, compile_policy
from contivpy.policy.rules import Address
from contivpy.policy.tables import PolicyChanges, Rendering
from contivpy.settings import AgentSettings, Transport

POLICY = "policy"
POD = "pod"
NAMESPACE = "namespace"


@dataclass(frozen=True, eq=False)
class PolicyCleanup(Event):
    """Delete the policy ACLs no interface names any more (a follow-up of the event that
    re-pointed their interfaces, so the deletes are a later transaction)."""

    name: ClassVar[str] = "PolicyCleanup"

    def describe(self) -> str:
        return "policy ACLs no interface uses"


@dataclass(frozen=True, slots=True)
class PodUndo:
    """Undo token of an AddPod: the pod's local entry before and the values it changed."""

    pod: str
    entry: tuple[str, Address] | None
    rendered: str | None
    values: dict[str, object | None]


class Policies(ControllerBase[PodUndo]):
    """See the module docstring."""

    name = "policies"

    def __init__(self, settings: AgentSettings, ipam: Ipam, pods: PodManager) -> None:
        self._settings = settings
        self._ipam = ipam
        self._pod_manager = pods
        self._book = PolicyBook(settings.node_name)
        self._fed = False  # the book holds the pods (from the first policy on)
        self._pods: dict[str, Pod] = {}  # reflected, by "namespace/name"
        self._local: dict[str, tuple[str, Address]] = {}  # wired pod -> (interface, IP)
        self._rendered: dict[str, str] = {}  # pod -> the interface its value is on
        self._node_interfaces: tuple[str, ...] = ()
        self._desired: Config = {}
        self._refs: dict[str, int] = {}  # ACL name -> interface values naming it
        self._stale: set[str] = set()  # ACLs named by none, deleted by the next cleanup
        self._touched: dict[str, object | None] = {}  # key -> its value before this event
        self._said: list[str] = []
        self.problems: dict[str, tuple[str, ...]] = {}

    # -- what others read ---------------------------------------------------------------

    @property
    def rendering(self) -> Rendering:
        """The policy processor's tables for this node."""
        return self._book.rendering

    def desired(self) -> Config:
        """Everything this controller wants now."""
        return dict(self._desired)

    # -- the controller -----------------------------------------------------------------

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource in (POLICY, POD, NAMESPACE)
        return isinstance(event, AddPod | DeletePod | PolicyCleanup)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> ResyncResult:
        before = dict(self.problems)
        nat_loopback: Address | None = None
        self._node_interfaces = ()
        if self._ipam.ready:
            nat_loopback = self._ipam.addresses.nat_loopback
            self._node_interfaces = self._node_side()
        self._book = PolicyBook(self._settings.node_name, nat_loopback)
        self._fed = False
        self._pods = {f"{p.namespace}/{p.name}": p for p in reflected(state, POD, Pod).values()}
        self._local, self._rendered = {}, {}
        self.problems = {}
        allocations = self._ipam.allocations()
        for pod in self._pod_manager.pods.values():
            ip = allocations.get(pod.pod)
            if ip is not None:
                self._local[str(pod.pod)] = (self._interface(pod.container_id), ip)
        for namespace in reflected(state, NAMESPACE, Namespace).values():
            self._book.put_namespace(namespace.name, namespace.labels)
        for policy in reflected(state, POLICY, Policy).values():
            self._put_policy(policy)
        rendering = self._book.rendering
        interfaces = {pod: entry[0] for pod, entry in self._local.items()}
        self._desired = render_all(
            rendering.pod_tables,
            rendering.tables,
            rendering.global_rules,
            interfaces,
            self._node_interfaces,
        )
        self._rendered = {pod: interfaces[pod] for pod in rendering.pod_tables if pod in interfaces}
        self._recount()
        self._touched = {}
        self._said = []  # the resync's findings are in its own record, not an update's
        lines = problem_lines("NetworkPolicy", changed_problems(before, self.problems))
        return ResyncResult(dict(self._desired), "; ".join(lines))

    async def update(self, event: Event) -> UpdateResult[PodUndo]:
        self._touched = {}
        undo: PodUndo | None = None
        if isinstance(event, KubeStateChange):
            self._apply(self._fold(event))
        elif isinstance(event, AddPod):
            key = str(pod_id(event))
            entry, rendered = self._local.get(key), self._rendered.get(key)
            local = self._pod_manager.pods.get(pod_id(event))
            ip = self._ipam.ip_of(pod_id(event))
            if local is not None and ip is not None:
                self._local[key] = (self._interface(local.container_id), ip)
            else:
                self._local.pop(key, None)
            self._apply(self._refresh(key), {key})
            undo = PodUndo(key, entry, rendered, dict(self._touched))
        elif isinstance(event, DeletePod):
            local = self._pod_manager.pods.get(pod_id(event))
            if local is not None and local.container_id == event.request.container_id:
                key = str(local.pod)
                self._local.pop(key, None)
                self._apply(self._refresh(key), {key})
        elif isinstance(event, PolicyCleanup):
            for name in sorted(self._stale):
                if not self._refs.get(name):
                    self._set(acl_key(name), None)
            self._stale = set()
        changes = tracked_changes(self._desired, self._touched)
        self._touched = {}
        lines, self._said = self._said, []
        if changes:
            lines.insert(0, f"{len(changes)} ACL value(s) changed")
        follow_ups = (PolicyCleanup(),) if self._stale else ()
        return UpdateResult("; ".join(lines), changes, follow_ups=follow_ups, undo=undo)

    async def revert(self, event: Event, undo: PodUndo | None) -> None:
        if undo is None:
            return
        if undo.entry is None:
            self._local.pop(undo.pod, None)
        else:
            self._local[undo.pod] = undo.entry
        if undo.rendered is None:
            self._rendered.pop(undo.pod, None)
        else:
            self._rendered[undo.pod] = undo.rendered
        self._refresh(undo.pod)
        restore(self._desired, undo.values)
        self._recount()

    # -- facts ---------------------------------------------------------------------------

    def _node_side(self) -> tuple[str, ...]:
        """The node-facing interfaces (where ``NODE-GLOBAL`` goes), as services names them."""
        ctx = NodeContext(self._settings, self._ipam.plan, self._ipam.addresses)
        found = [ctx.main_interface, ctx.host_interconnect]
        if self._settings.transport is Transport.VXLAN:
            found.append(naming.VXLAN_BVI)
        return tuple(found)

    def _interface(self, container_id: str) -> str:
        use_tap = self._settings.interfaces.use_tap_interfaces
        return naming.pod_vpp_interface(container_id, use_tap=use_tap)

    def _facts(self, key: str) -> PodFacts | None:
        """A pod's facts: its reflected object's, with ipam's IP when it is wired here."""
        model = self._pods.get(key)
        if model is None:
            return None
        facts = pod_facts(model)
        entry = self._local.get(key)
        if entry is not None:
            facts = replace(facts, ips=(entry[1],), node=self._settings.node_name)
        return facts

    def _feed(self) -> PolicyChanges:
        """Tell the book every pod, once (the first policy needs them)."""
        if self._fed:
            return PolicyChanges()
        self._fed = True
        found = PolicyChanges()
        for key in sorted(self._pods.keys() | self._local.keys()):
            found |= self._refresh(key)
        return found

    def _refresh(self, key: str) -> PolicyChanges:
        """Tell the book a pod's facts again (nothing before the first policy)."""
        if not self._fed:
            return PolicyChanges()
        facts = self._facts(key)
        if facts is not None:
            return self._book.put_pod(facts)
        namespace, _, name = key.partition("/")
        return self._book.remove_pod(namespace, name)

    # -- changes -------------------------------------------------------------------------

    def _fold(self, event: KubeStateChange) -> PolicyChanges:
        """Tell the book; what it says changed."""
        if event.resource == POLICY:
            if isinstance(event.new, Policy):
                pid = f"{event.new.namespace}/{event.new.name}"
                before = self.problems.get(pid, ())
                changes = self._put_policy(event.new)
                if self.problems.get(pid, ()) != before:
                    self._report({pid: self.problems.get(pid, ())})
                return changes
            if isinstance(event.prev, Policy):
                pid = f"{event.prev.namespace}/{event.prev.name}"
                if self.problems.pop(pid, None) is not None:
                    self._said.append(f"NetworkPolicy {pid} deleted (it was refused)")
                return self._book.remove_policy(pid)
        elif event.resource == NAMESPACE:
            if isinstance(event.new, Namespace):
                return self._book.put_namespace(event.new.name, event.new.labels)
            if isinstance(event.prev, Namespace):
                return self._book.remove_namespace(event.prev.name)
        else:
            model = event.new if isinstance(event.new, Pod) else event.prev
            if isinstance(model, Pod):
                key = f"{model.namespace}/{model.name}"
                if isinstance(event.new, Pod):
                    self._pods[key] = event.new
                else:
                    self._pods.pop(key, None)
                return self._refresh(key)
        return PolicyChanges()

    def _put_policy(self, model: Policy) -> PolicyChanges:
        """Compile and apply a policy; a refused one is recorded in ``problems`` and not
        applied (removed, if an earlier version was)."""
        pid = f"{model.namespace}/{model.name}"
        try:
            policy = compile_policy(model)
        except PolicyError as error:
            self.problems[pid] = tuple(f"NetworkPolicy {error.policy}: {p}" for p in error.problems)
            return self._book.remove_policy(pid)
        self.problems.pop(pid, None)
        fed = self._feed()
        return fed | self._book.put_policy(policy)

    def _report(self, problems: dict[str, tuple[str, ...]]) -> None:
        """Log the objects whose problems changed, and say so in the event's change line."""
        self._said += problem_lines("NetworkPolicy", problems)

    def _apply(self, changes: PolicyChanges, pods: set[str] | None = None) -> None:
        """Set again the interfaces of the pods whose table changed (and of ``pods``), and
        the node-facing ones when ``NODE-GLOBAL`` changed."""
        if not changes and not pods:
            return
        rendering = self._book.rendering
        for pod in sorted(set(changes.pods) | (pods or set())):
            entry = self._local.get(pod)
            table = rendering.pod_tables.get(pod)
            old = self._rendered.pop(pod, None)
            if old is not None and (entry is None or entry[0] != old):
                self._set_interface(old, None, rendering)
            if entry is None:
                continue
            value = pod_interface(entry[0], table) if table is not None else None
            self._set_interface(entry[0], value, rendering)
            if value is not None:
                self._rendered[pod] = entry[0]
        if changes.global_changed:
            if rendering.global_rules and self._node_interfaces:
                if self._refs.get(GLOBAL_ACL):
                    self._set(acl_key(GLOBAL_ACL), global_value(rendering.global_rules))
                for interface in self._node_interfaces:
                    self._set_interface(interface, node_interface(interface), rendering)
            else:
                for interface in self._node_interfaces:
                    self._set_interface(interface, None, rendering)

    # -- state -----------------------------------------------------------------------------

    def _set(self, key: str, value: object | None) -> None:
        """Change one desired value, remembering what it was before this event."""
        set_tracked(self._desired, self._touched, key, value)

    def _set_interface(
        self, interface: str, value: AclInterfaces | None, rendering: Rendering
    ) -> None:
        """One interface's lists; the ACLs it starts naming are put, those it stops naming
        and no other interface names become stale."""
        key = acl_interface_key(interface)
        old = _names(self._desired.get(key))
        new = _names(value)
        self._set(key, value)
        for name in new - old:
            self._refs[name] = self._refs.get(name, 0) + 1
            if self._refs[name] == 1:
                self._stale.discard(name)
                self._set(acl_key(name), _acl(name, rendering))
        for name in old - new:
            self._refs[name] -= 1
            if not self._refs[name]:
                del self._refs[name]
                self._stale.add(name)

    def _recount(self) -> None:
        """The references and stale ACLs, counted again from the desired values."""
        self._refs = {}
        acls: set[str] = set()
        for key, value in self._desired.items():
            if isinstance(value, AclInterfaces):
                for named in _names(value):
                    self._refs[named] = self._refs.get(named, 0) + 1
            acl = parse_acl_key(key)
            if acl is not None:
                acls.add(acl)
        self._stale = acls - self._refs.keys()


def _names(value: object | None) -> set[str]:
    if not isinstance(value, AclInterfaces):
        return set()
    return {*value.input, *value.output}


def _acl(name: str, rendering: Rendering) -> Acl:
    """The value of an ACL an interface starts naming."""
    if name == REFLECTION_ACL:
        return REFLECTION
    if name == GLOBAL_ACL:
        return global_value(rendering.global_rules)
    table = name.removeprefix(ACL_PREFIX)
    return table_value(table, rendering.tables[table])
