"""The policy controller on its own (with real nodesync, podmanager and IPAM; the node's ID
record given in the reflected state, so no etcd): what an event changes — a label flip only
the interfaces of the pods whose table changed and the ACL they move to, the old ACL deleted
by the cleanup that follows, never in the same transaction — a refused policy, the revert of
a failed ADD, and the property that after any sequence of policy, pod, namespace and CNI
changes (and the cleanups they ask for) the controller wants exactly what a resync from
scratch wants, each event's changes taking it there from what it wanted before."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.controllers.base import ControllerBase
from contivpy.controllers.policies import Policies, PolicyCleanup
from contivpy.controllers.policy_render import GLOBAL_ACL, REFLECTION_ACL, table_acl
from contivpy.events.types import (
    Changes,
    DBResync,
    Event,
)
from contivpy.models.k8s_codec import K8sModel, Namespace, Pod, Policy
from contivpy.models.vpp_acl import Acl, AclInterfaces
from contivpy.models.vpp_keys import acl_interface_key, acl_key
from contivpy.reflector.converting import convert
from contivpy.settings import AgentSettings
from controllers.parts import NodeRig, add, delete

NODE = "n1"  # node ID 1: pods in 10.1.1.0/24
SETTINGS = AgentSettings(node_name=NODE)


def network_policy(name: str, spec: Mapping[str, Any], namespace: str = "default") -> Policy:
    model = convert("policy", {"metadata": {"name": name, "namespace": namespace}, "spec": spec})
    assert isinstance(model, Policy)
    return model


def admit_only(role: str, name: str = "web", target: str = "backend") -> Policy:
    """A policy admitting only pods with ``role`` to the ``target`` pods."""
    return network_policy(
        name,
        {
            "podSelector": {"matchLabels": {"role": target}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": role}}}]}],
        },
    )


def pod(name: str, role: str = "", node: str = NODE, ip: str = "", **labels: str) -> Pod:
    if role:
        labels["role"] = role
    return Pod(name=name, namespace="default", node_name=node, ip_address=ip, labels=labels)


class Rig(NodeRig):
    """The policy controller on a node (``NodeRig``); ``handle`` also runs the follow-ups."""

    def controller(self) -> ControllerBase[Any]:
        self.policies = Policies(SETTINGS, self.ipam, self.pods)
        return self.policies

    async def handle(self, event: Event) -> list[Changes]:
        """An event and its follow-ups: each transaction's changes."""
        queue, done = [event], []
        while queue:
            result = await self.one(queue.pop(0))
            done.append(result.changes)
            queue[:0] = result.follow_ups
        return done

    async def put(self, model: K8sModel) -> list[Changes]:
        return await self.handle(self.put_state(model))

    async def drop(self, model: K8sModel) -> list[Changes]:
        return await self.handle(self.drop_state(model))

    def ip(self, name: str) -> str:
        found = next(p for p in self.pods.pods if p.name == name)
        return str(self.ipam.ip_of(found))

    async def wire(self, name: str, role: str = "", **labels: str) -> str:
        """A pod wired by CNI and reflected with its labels; its IP."""
        await self.handle(add(name, f"c-{name}"))
        await self.put(pod(name, role, ip=self.ip(name), **labels))
        return self.ip(name)


def run(test: Callable[[Rig], Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(test(Rig(Path(tmp))))


def tap(name: str) -> str:
    return acl_interface_key(f"vpp-tap-c-{name}")


def output(config: Mapping[str, object], name: str) -> str:
    value = config[tap(name)]
    assert isinstance(value, AclInterfaces)
    assert value.input == (REFLECTION_ACL,)
    (acl,) = value.output
    return acl


# -- examples -------------------------------------------------------------------------------


def test_a_label_flip_touches_only_the_pods_whose_table_changes() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        for name, role in (("b1", "backend"), ("b2", "backend"), ("f", "frontend")):
            await rig.wire(name, role)
        await rig.wire("o", "tool")
        await rig.wire("d", "db")
        await rig.put(admit_only("frontend"))
        await rig.put(admit_only("backend", name="db", target="db"))
        before = rig.policies.desired()
        old = output(before, "b1")
        assert output(before, "b2") == old  # one table, one ACL
        assert tap("f") not in before
        assert tap("o") not in before

        # the tool pod becomes a frontend: both backends move to a new ACL, nothing else
        first, cleanup = await rig.put(pod("o", "frontend", ip=rig.ip("o")))
        new = output(rig.policies.desired(), "b1")
        assert new != old
        assert set(first) == {tap("b1"), tap("b2"), acl_key(new)}
        assert isinstance(first[acl_key(new)], Acl)
        # the old ACL goes in a later transaction than the one re-pointing its interfaces
        assert cleanup == {acl_key(old): None}

        # a label no policy looks at changes nothing
        assert await rig.put(pod("o", "frontend", ip=rig.ip("o"), team="x")) == [{}]
        # and flipping back goes back to the old ACL
        first, cleanup = await rig.put(pod("o", "tool", ip=rig.ip("o")))
        assert set(first) == {tap("b1"), tap("b2"), acl_key(old)}
        assert cleanup == {acl_key(new): None}

    run(scenario)


def test_a_pod_deleted_keeps_its_acl_until_the_cleanup() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        await rig.wire("b1", "backend")
        await rig.put(admit_only("frontend"))
        acl = output(rig.policies.desired(), "b1")
        first, cleanup = await rig.handle(delete("b1", "c-b1"))
        assert first == {tap("b1"): None}
        assert cleanup == {acl_key(acl): None, acl_key(REFLECTION_ACL): None}
        assert rig.policies.desired() == {}

    run(scenario)


def test_egress_isolation_sets_node_global_and_replaces_it_in_place() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        await rig.wire("o", "tool")
        spec = {
            "podSelector": {"matchLabels": {"role": "tool"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}],
        }
        (changes,) = await rig.put(network_policy("out", spec))
        interfaces = {"loopbackNIC", "tap-vpp2", "vxlanBVI"}
        assert {acl_interface_key(i) for i in interfaces} <= set(changes)
        assert isinstance(changes[acl_key(GLOBAL_ACL)], Acl)
        spec["egress"] = [{"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}]
        # new rules: the one ACL in place, the interfaces untouched
        (changes,) = await rig.put(network_policy("out", spec))
        assert set(changes) == {acl_key(GLOBAL_ACL)}
        first, cleanup = await rig.drop(network_policy("out", spec))
        assert {acl_interface_key(i) for i in interfaces} == set(first)
        assert cleanup == {acl_key(GLOBAL_ACL): None, acl_key(REFLECTION_ACL): None}

    run(scenario)


def test_a_refused_policy_is_reported_and_the_others_keep_working() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        await rig.wire("b1", "backend")
        await rig.wire("d", "db")
        await rig.put(admit_only("frontend"))
        bad = network_policy(
            "bad",
            {
                "podSelector": {"matchLabels": {"role": "db"}},
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.x/8"}}]}],
            },
        )
        changes = await rig.put(bad)
        problem = (
            "NetworkPolicy default/bad: spec.ingress[0].from[0].ipBlock.cidr: "
            "'10.0.0.x/8' is not a CIDR"
        )
        assert rig.policies.problems == {"default/bad": (problem,)}
        assert changes == [{}]  # the db pod stays unisolated; the backend keeps its table
        assert tap("d") not in rig.policies.desired()
        assert tap("b1") in rig.policies.desired()
        result = await rig.one(rig.put_state(admit_only("backend", name="bad", target="db")))
        assert "NetworkPolicy default/bad accepted" in result.change
        assert rig.policies.problems == {}
        assert tap("d") in rig.policies.desired()

    run(scenario)


def test_a_policy_refused_at_a_resync_is_in_the_resyncs_change_line() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(admit_only("frontend"))
        bad = {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "nope"}}]}]}
        rig.put_state(network_policy("bad", bad))
        await rig.resync()
        assert rig.resync_change == (
            "refused: NetworkPolicy default/bad: spec.ingress[0].from[0].ipBlock.cidr: "
            "'nope' is not a CIDR"
        )
        # said by the resync, not again by the next event; a resync finding the same says
        # nothing again, one finding it fixed says so
        result = await rig.one(rig.put_state(pod("x", "backend")))
        assert "refused" not in result.change
        await rig.resync()
        assert rig.resync_change == ""
        rig.put_state(admit_only("backend", name="bad", target="db"))
        await rig.resync()
        assert rig.resync_change == "NetworkPolicy default/bad accepted"

    run(scenario)


def test_a_failed_add_is_reverted() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        await rig.wire("b1", "backend")
        await rig.put(pod("b2", "backend"))  # reflected, not wired yet: no IP
        await rig.put(admit_only("frontend"))
        before = rig.policies.desired()
        event = add("b2", "c-b2")
        undo = None
        for controller in (rig.pods, rig.ipam, rig.policies):
            result = await controller.update(event)
            if controller is rig.policies:
                undo = result.undo
        assert tap("b2") in rig.policies.desired()
        await rig.policies.revert(event, undo)
        assert rig.policies.desired() == before
        assert rig.policies.rendering.pod_tables.keys() == {"default/b1"}

    run(scenario)


def test_a_restart_wants_what_was_applied() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        await rig.wire("b1", "backend")
        await rig.wire("f", "frontend")
        await rig.put(admit_only("frontend"))
        wanted = rig.policies.desired()
        assert isinstance(wanted[acl_key(output(wanted, "b1"))], Acl)
        rig.pods.persist()
        rig.ipam.persist()
        rig.build()
        assert await rig.resync() == wanted
        assert await rig.handle(PolicyCleanup()) == [{}]

    run(scenario)


# -- the property ---------------------------------------------------------------------------

POD_NAMES = ("p1", "p2", "p3")
ROLES = ("frontend", "backend", "tool")
NAMESPACES = ("default", "other")

policy_specs = st.sampled_from(
    (
        {"podSelector": {}, "policyTypes": ["Ingress"]},  # deny every ingress
        {
            "podSelector": {"matchLabels": {"role": "backend"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}]}],
        },
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                    "ports": [{"port": 80}, {"protocol": "UDP", "port": 53, "endPort": 60}],
                }
            ],
        },
        {
            "podSelector": {"matchLabels": {"role": "tool"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"role": "backend"}}}]}],
        },
        {
            "podSelector": {"matchLabels": {"role": "frontend"}},
            # refused: the except is outside its CIDR
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.2.0.0/24"]}}]}
            ],
        },
    )
)
policy_changes = st.builds(
    lambda name, spec: ("put", network_policy(name, spec)),
    st.sampled_from(("a", "b")),
    policy_specs,
)
policy_removals = st.builds(
    lambda name: ("drop", network_policy(name, {})), st.sampled_from(("a", "b"))
)
label_changes = st.builds(
    lambda name, role, remote: ("label", (name, role, remote)),
    st.sampled_from(POD_NAMES),
    st.sampled_from(ROLES),
    st.booleans(),
)
namespace_changes = st.builds(
    lambda name, team: ("put", Namespace(name=name, labels={"team": team})),
    st.sampled_from(NAMESPACES),
    st.sampled_from(("a", "b")),
)
cni_changes = st.builds(
    lambda name, gone: ("delete" if gone else "add", name),
    st.sampled_from(POD_NAMES),
    st.booleans(),
)
steps = st.lists(
    st.one_of(policy_changes, policy_removals, label_changes, namespace_changes, cni_changes),
    max_size=25,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_incremental_changes_equal_a_render_from_scratch(sequence: list[tuple[str, Any]]) -> None:
    async def scenario(rig: Rig) -> None:
        for name, role in zip(POD_NAMES, ROLES, strict=True):
            rig.put_state(pod(name, role))  # reflected, wired by the "add" steps
        rig.put_state(pod("r1", "frontend", "n2", "10.1.2.9"))
        await rig.resync()
        for name in POD_NAMES[:2]:
            await rig.handle(add(name, f"c-{name}"))
        wanted = rig.policies.desired()
        for verb, what in sequence:
            if verb == "put":
                transactions = await rig.put(what)
            elif verb == "drop":
                transactions = await rig.drop(what)
            elif verb == "add":
                transactions = await rig.handle(add(what, f"c-{what}"))
            elif verb == "delete":
                transactions = await rig.handle(delete(what, f"c-{what}"))
            else:
                name, role, remote = what
                wired = any(p.name == name for p in rig.pods.pods)
                if remote and not wired:
                    moved = pod(name, role, "n2", f"10.1.2.{POD_NAMES.index(name)}")
                else:
                    moved = pod(name, role, ip=rig.ip(name) if wired else "")
                transactions = await rig.put(moved)
            for changes in transactions:
                for k, value in changes.items():
                    if value is None:
                        wanted.pop(k, None)
                    else:
                        wanted[k] = value
                    # an interface names only ACLs that exist after its transaction
                    if isinstance(value, AclInterfaces):
                        for acl in (*value.input, *value.output):
                            assert acl_key(acl) in wanted
            assert wanted == rig.policies.desired()
            fresh = Policies(SETTINGS, rig.ipam, rig.pods)
            event = DBResync(rig.state, revision=1)
            assert (await fresh.resync(event, rig.state, 1)).config == wanted
        incremental, problems = rig.policies.desired(), rig.policies.problems
        rig.pods.persist()
        rig.ipam.persist()
        rig.build()  # a restarted agent: everything from the reflected state and its files
        assert await rig.resync() == incremental
        assert rig.policies.problems == problems

    run(scenario)


def test_table_acl_names_the_table() -> None:
    assert table_acl("0123456789abcdef") == "contiv-policy-0123456789abcdef"
