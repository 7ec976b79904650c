"""ServiceFunctionChain, ExternalInterface and CustomNetwork statuses end to end: the stand-in
API server and node ID records in the session etcd -> the reflector's leader -> each object's
status and Events, read back from the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from contivpy.models.k8s_codec import VppNode, encode, key_of
from contivpy.models.node_reports import ReportedObject, encode_report, report_key
from contivpy.reflector.crd_status import CrdStatusWriter
from contivpy.reflector.object_status import ObjectStatus, Readiness
from contivpy.reflector.source import JsonObject
from contivpy.sim.kube import KubeApiError, KubeApiStandIn
from contivpy.store import Store
from reflector.harness import KSR, Running, eventually

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]

GROUP = "contivpp.io/v1"
SFC = "ServiceFunctionChain"
EXTIF = "ExternalInterface"
CNET = "CustomNetwork"

# Seed 000's sfc-linux.yaml: CNF 1 -> CNF 2 over their tap1 interfaces.
LINUX_CHAIN = """
apiVersion: contivpp.io/v1
kind: ServiceFunctionChain
metadata: {name: linux-chain, namespace: default}
spec:
  chain:
    - {name: CNF 1, type: Pod, podSelector: {cnf: linux-cnf1}, interface: tap1}
    - {name: CNF 2, type: Pod, podSelector: {cnf: linux-cnf2}, interface: tap1}
"""

OTHER_CHAIN = (
    LINUX_CHAIN.replace("linux-chain", "other").replace("cnf2", "cnf4").replace("cnf1", "cnf3")
)

# The CRD schema refuses an empty chain (minItems 1): one element is the nearest it lets in.
LONELY_CHAIN = """
apiVersion: contivpp.io/v1
kind: ServiceFunctionChain
metadata: {name: lonely, namespace: default}
spec:
  chain:
    - {name: only, type: Pod, podSelector: {cnf: x}, interface: tap1}
"""

BLIND_CHAIN = """
apiVersion: contivpp.io/v1
kind: ServiceFunctionChain
metadata: {name: blind, namespace: default}
spec:
  chain:
    - {name: CNF 1, type: Pod, podSelector: {cnf: linux-cnf1}, interface: tap1}
    - {name: nobody, type: Pod, interface: tap1}
"""

EXTERNAL_INTERFACES = """
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: vlan-200, namespace: default}
spec:
  type: L2
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 200}]
---
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: vlan-200-again, namespace: default}
spec:
  type: L2
  nodes:
    - {node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 300}
    - {node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 200}
---
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: vlan-4095, namespace: default}
spec:
  type: L2
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 4095}]
"""


# The example (an octet of 300, a /40 per node in IPv4) gets past the CRD's schema,
# which checks the syntax only; the reflector refuses it. The rest: one field wrong each.
CUSTOM_NETWORKS = """
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: net1, namespace: default}
spec: {type: L3, subnetCIDR: 10.200.0.0/16, subnetOneNodePrefixLen: 24}
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: l2net, namespace: default}
spec: {type: L2}
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: bad-octet, namespace: default}
spec: {type: L3, subnetCIDR: 10.300.0.0/16, subnetOneNodePrefixLen: 40}
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: one-slice, namespace: default}
spec: {type: L3, subnetCIDR: 10.201.0.0/16, subnetOneNodePrefixLen: 16}
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: overlapping, namespace: default}
spec: {type: L3, subnetCIDR: 10.200.128.0/17, subnetOneNodePrefixLen: 24}
"""

NETWORK_EXTERNAL_INTERFACES = """
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: in-net1, namespace: default}
spec:
  type: L3
  network: net1
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 10, ip: 10.200.9.1/24}]
---
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: in-nowhere, namespace: default}
spec:
  type: L2
  network: nowhere
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 20}]
---
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: ip-in-l2, namespace: default}
spec:
  type: L2
  network: l2net
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 30, ip: 10.9.0.1/24}]
"""


def ready(kube: KubeApiStandIn, kind: str, name: str) -> dict[str, Any] | None:
    obj = kube.find(GROUP, kind, name, namespace="default")
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    found = [c for c in conditions if c.get("type") == "Ready"]
    return found[0] if found else None


def events_about(kube: KubeApiStandIn, kind: str, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in kube.list("v1", "Event", namespace="default")
        if e["involvedObject"]["kind"] == kind and e["involvedObject"]["name"] == name
    ]


def normal_events(kube: KubeApiStandIn, name: str) -> list[dict[str, Any]]:
    """A chain's Normal Events, oldest first."""
    found = [e for e in events_about(kube, SFC, name) if e["type"] == "Normal"]
    return sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))


async def says(
    kube: KubeApiStandIn, kind: str, name: str, reason: str, within: float = 5.0
) -> dict[str, Any]:
    """Wait until the object's Ready condition has ``reason``; returns the condition."""

    async def check() -> dict[str, Any] | None:
        condition = ready(kube, kind, name)
        return condition if condition is not None and condition["reason"] == reason else None

    try:
        return await eventually(check, within)
    except TimeoutError as timeout:
        raise AssertionError(f"{name}: {ready(kube, kind, name)}") from timeout


def run_pod(kube: KubeApiStandIn, name: str, cnf: str, node: str, ip: str) -> None:
    """A pod scheduled to ``node`` with a tap1 custom interface, running with ``ip``."""
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "default",
                "labels": {"cnf": cnf},
                "annotations": {"contivpp.io/custom-if": "tap1/tap/stub"},
            },
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
        }
    )
    kube.patch(
        "v1",
        "Pod",
        name,
        {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
        namespace="default",
        subresource="status",
    )


async def give_id(store: Store, node: str, node_id: int) -> None:
    """What the node's agent (nodesync) writes when it takes its ID."""
    record = VppNode(id=node_id, name=node, ip_addresses=[f"192.168.16.{node_id}/24"])
    await store.put(KSR + key_of(record), encode(record))


async def _async(value: Any) -> Any:
    return value


async def writer_of(running: Running) -> CrdStatusWriter:
    return await eventually(lambda: _async(running.reflector.crd_status))


async def test_a_chain_says_what_is_missing_until_it_renders_and_where_it_reroutes(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(LINUX_CHAIN)
    async with run_reflector():
        condition = await says(kube, SFC, "linux-chain", "NotRendered")
        assert condition["status"] == "False"
        assert condition["message"] == "chain[0] ('CNF 1'): no pod matches cnf=linux-cnf1"
        (event,) = await eventually(lambda: _async(events_about(kube, SFC, "linux-chain") or None))
        assert (event["type"], event["reason"]) == ("Warning", "NotRendered")
        assert event["involvedObject"]["apiVersion"] == GROUP

        run_pod(kube, "linux-cnf1", "linux-cnf1", "node-1", "10.1.1.2")
        run_pod(kube, "linux-cnf2", "linux-cnf2", "node-1", "10.1.1.3")
        await eventually(
            lambda: _async(
                "none is running on a node with an ID"
                in (ready(kube, SFC, "linux-chain") or {}).get("message", "")
            )
        )
        await give_id(store, "node-1", 1)  # only etcd changes: the ID watch wakes the writer
        condition = await says(kube, SFC, "linux-chain", "Rendered")
        assert condition["status"] == "True"
        assert condition["message"] == (
            "pod default/linux-cnf1 on node-1 -> pod default/linux-cnf2 on node-1"
        )
        obj = kube.get(GROUP, SFC, "linux-chain", namespace="default")
        assert (obj["status"]["status"], obj["status"]["reason"]) == ("Success", "Rendered")
        (rendered,) = await eventually(lambda: _async(normal_events(kube, "linux-chain") or None))
        assert (rendered["reason"], rendered["message"]) == ("Rendered", condition["message"])

        # CNF 2 rescheduled on node-2: the status follows the re-route, with a Normal Event
        await give_id(store, "node-2", 2)
        kube.delete("v1", "Pod", "linux-cnf2", namespace="default")
        run_pod(kube, "linux-cnf2", "linux-cnf2", "node-2", "10.1.2.2")
        condition = await eventually(
            lambda: _async(
                c
                if (c := ready(kube, SFC, "linux-chain")) and c["message"].endswith("node-2")
                else None
            )
        )
        assert condition["message"] == (
            "pod default/linux-cnf1 on node-1 -> pod default/linux-cnf2 on node-2"
        )
        moved = await eventually(
            lambda: _async(n if len(n := normal_events(kube, "linux-chain")) == 2 else None)
        )
        assert (moved[1]["reason"], moved[1]["message"]) == ("Rendered", condition["message"])


async def test_invalid_chains_are_refused_and_the_other_chains_keep_their_status(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    await give_id(store, "node-1", 1)
    for index in range(1, 5):
        run_pod(kube, f"linux-cnf{index}", f"linux-cnf{index}", "node-1", f"10.1.1.{index + 1}")
    kube.apply_yaml(LINUX_CHAIN)
    kube.apply_yaml(OTHER_CHAIN)
    kube.apply_yaml(LONELY_CHAIN)
    kube.apply_yaml(BLIND_CHAIN)
    async with run_reflector():
        lonely = await says(kube, SFC, "lonely", "InvalidSpec")
        assert lonely["status"] == "False"
        assert lonely["message"] == (
            "spec.chain has 1 element(s): a chain connects at least two service functions"
        )
        blind = await says(kube, SFC, "blind", "InvalidSpec")
        assert blind["message"] == (
            "spec.chain[1] ('nobody').podSelector: a Pod element needs a selector"
        )
        (event,) = await eventually(lambda: _async(events_about(kube, SFC, "blind") or None))
        assert (event["type"], event["reason"]) == ("Warning", "InvalidSpec")
        assert "spec.chain[1]" in event["message"]
        await says(kube, SFC, "linux-chain", "Rendered")
        other = await says(kube, SFC, "other", "Rendered")
        assert other["message"] == (
            "pod default/linux-cnf3 on node-1 -> pod default/linux-cnf4 on node-1"
        )
        untouched = kube.get(GROUP, SFC, "other", namespace="default")

        # one chain turns invalid: it says so, the other chains are not touched
        kube.apply_yaml(LINUX_CHAIN.replace("interface: tap1}\n    - ", "}\n    - ", 1))
        broken = await says(kube, SFC, "linux-chain", "InvalidSpec")
        assert broken["message"].startswith("spec.chain[0] ('CNF 1').interface: missing")
        # a chain fixed meanwhile renders beside it
        kube.apply_yaml(
            BLIND_CHAIN.replace(
                "type: Pod, interface", "type: Pod, podSelector: {cnf: linux-cnf2}, interface"
            )
        )
        fixed = await says(kube, SFC, "blind", "Rendered")
        assert fixed["message"].endswith("pod default/linux-cnf2 on node-1")
        assert kube.get(GROUP, SFC, "other", namespace="default") == untouched
        assert ready(kube, SFC, "lonely") == lonely
        # two chains claiming one interface: the first by namespace/name has it
        kube.apply_yaml(LINUX_CHAIN)
        again = await says(kube, SFC, "linux-chain", "NotRendered")
        assert again["message"] == (
            "chain[0] ('CNF 1'): every instance is used by chain default/blind"
        )
        assert kube.get(GROUP, SFC, "other", namespace="default") == untouched


async def test_external_interfaces_with_bad_or_duplicate_vlans_are_refused(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    with pytest.raises(KubeApiError):  # vlan 5000 never gets past the CRD's schema
        kube.apply_yaml(EXTERNAL_INTERFACES.split("---")[0].replace("vlan: 200", "vlan: 5000"))
    kube.apply_yaml(EXTERNAL_INTERFACES)
    async with run_reflector():
        accepted = await says(kube, EXTIF, "vlan-200", "Accepted")
        assert (accepted["status"], accepted["message"]) == (
            "True",
            "1 entry(ies) on node(s) node-1",
        )
        duplicate = await says(kube, EXTIF, "vlan-200-again", "InvalidSpec")
        assert duplicate["status"] == "False"
        assert duplicate["message"] == (
            "ExternalInterface default/vlan-200-again spec.nodes[1]: VLAN 200 of "
            "GigabitEthernet0/a/0 on node node-1 is already used by ExternalInterface "
            "default/vlan-200 spec.nodes[0] (1 entry(ies) on node(s) node-1 accepted)"
        )
        outside = await says(kube, EXTIF, "vlan-4095", "InvalidSpec")
        assert "spec.nodes[0]: vlan 4095: outside 1..4094" in outside["message"]
        for name in ("vlan-200-again", "vlan-4095"):
            (event,) = await eventually(lambda n=name: _async(events_about(kube, EXTIF, n) or None))
            assert (event["type"], event["reason"]) == ("Warning", "InvalidSpec")
        assert events_about(kube, EXTIF, "vlan-200") == []


async def test_what_a_node_agent_reports_about_an_external_interface_is_on_its_status(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(EXTERNAL_INTERFACES.split("---")[0])
    about = ReportedObject("external-interface", "default", "vlan-200")
    problem = (
        "ExternalInterface default/vlan-200 spec.nodes[0]: GigabitEthernet0/a/0.200 on node "
        "node-1: VPP has no NIC named 'GigabitEthernet0/a/0'"
    )
    async with run_reflector():
        await says(kube, EXTIF, "vlan-200", "Accepted")
        await store.put(KSR + report_key("node-1", about), encode_report([problem]))
        applied = await says(kube, EXTIF, "vlan-200", "NotApplied")
        assert (applied["status"], applied["message"]) == ("False", problem)
        (event,) = await eventually(lambda: _async(events_about(kube, EXTIF, "vlan-200") or None))
        assert (event["type"], event["reason"]) == ("Warning", "NotApplied")
        # the node fixed it (or the entry is gone): its report goes, the status follows
        await store.delete(KSR + report_key("node-1", about))
        await says(kube, EXTIF, "vlan-200", "Accepted")


async def test_custom_networks_are_refused_naming_the_field_or_accepted_with_their_shape(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(CUSTOM_NETWORKS)
    async with run_reflector():
        net1 = await says(kube, CNET, "net1", "Accepted")
        assert (net1["status"], net1["message"]) == ("True", "L3 10.200.0.0/16, /24 per node")
        l2net = await says(kube, CNET, "l2net", "Accepted")
        assert l2net["message"] == "L2"
        octet = await says(kube, CNET, "bad-octet", "InvalidSpec")
        assert octet["status"] == "False"
        assert octet["message"].startswith(
            "CustomNetwork default/bad-octet spec.subnetCIDR '10.300.0.0/16': "
            "not a network address with a prefix length"
        )
        one_slice = await says(kube, CNET, "one-slice", "InvalidSpec")
        assert one_slice["message"] == (
            "CustomNetwork default/one-slice spec.subnetOneNodePrefixLen 16: must be longer "
            "than the subnet's /16 and at most 30"
        )
        overlapping = await says(kube, CNET, "overlapping", "InvalidSpec")
        assert overlapping["message"] == (
            "CustomNetwork default/overlapping spec.subnetCIDR 10.200.128.0/17 overlaps "
            "network net1 (10.200.0.0/16, default/net1)"
        )
        for name, field in (
            ("bad-octet", "spec.subnetCIDR"),
            ("one-slice", "spec.subnetOneNodePrefixLen"),
            ("overlapping", "spec.subnetCIDR"),
        ):
            (event,) = await eventually(lambda n=name: _async(events_about(kube, CNET, n) or None))
            assert (event["type"], event["reason"]) == ("Warning", "InvalidSpec")
            assert field in event["message"]
            assert event["involvedObject"]["apiVersion"] == GROUP
        assert events_about(kube, CNET, "net1") == []

        # net1 deleted: the network that overlapped it is accepted in its turn
        kube.delete(GROUP, CNET, "net1", namespace="default")
        freed = await says(kube, CNET, "overlapping", "Accepted")
        assert freed["message"] == "L3 10.200.128.0/17, /24 per node"


async def test_external_interfaces_must_name_an_accepted_network_that_takes_their_ip(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(CUSTOM_NETWORKS)
    kube.apply_yaml(NETWORK_EXTERNAL_INTERFACES)
    kube.apply_yaml(
        NETWORK_EXTERNAL_INTERFACES.split("---")[0]
        .replace("in-net1", "in-bad-octet")
        .replace("network: net1", "network: bad-octet")
        .replace("vlan: 10", "vlan: 40")
    )
    async with run_reflector():
        accepted = await says(kube, EXTIF, "in-net1", "Accepted")
        assert accepted["message"] == "1 entry(ies) on node(s) node-1"
        missing = await says(kube, EXTIF, "in-nowhere", "InvalidSpec")
        assert missing["message"] == (
            "ExternalInterface default/in-nowhere spec.nodes[0]: network 'nowhere': no such "
            "CustomNetwork (or it is refused: see its status) (0 entry(ies) accepted)"
        )
        refused = await says(kube, EXTIF, "in-bad-octet", "InvalidSpec")
        assert "network 'bad-octet': no such CustomNetwork" in refused["message"]
        l2_ip = await says(kube, EXTIF, "ip-in-l2", "InvalidSpec")
        assert l2_ip["message"].startswith(
            "ExternalInterface default/ip-in-l2 spec.nodes[0]: ip '10.9.0.1/24': an interface "
            "in the L2 network l2net has no IP"
        )
        (event,) = await eventually(lambda: _async(events_about(kube, EXTIF, "in-nowhere") or None))
        assert (event["type"], event["reason"]) == ("Warning", "InvalidSpec")

        # the network created: only a CustomNetwork changed, and the interface is accepted
        kube.apply_yaml(
            "apiVersion: contivpp.io/v1\nkind: CustomNetwork\n"
            "metadata: {name: nowhere, namespace: default}\nspec: {type: L2}"
        )
        await says(kube, EXTIF, "in-nowhere", "Accepted")


async def test_a_second_pass_and_a_restarted_reflector_write_nothing(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    await give_id(store, "node-1", 1)
    run_pod(kube, "linux-cnf1", "linux-cnf1", "node-1", "10.1.1.2")
    run_pod(kube, "linux-cnf2", "linux-cnf2", "node-1", "10.1.1.3")
    kube.apply_yaml(LINUX_CHAIN)
    kube.apply_yaml(LONELY_CHAIN)
    kube.apply_yaml(EXTERNAL_INTERFACES)
    kube.apply_yaml(CUSTOM_NETWORKS)
    kube.apply_yaml(NETWORK_EXTERNAL_INTERFACES)
    expected = [
        (SFC, "linux-chain", "Rendered"),
        (SFC, "lonely", "InvalidSpec"),
        (EXTIF, "vlan-200", "Accepted"),
        (EXTIF, "vlan-4095", "InvalidSpec"),
        (EXTIF, "in-net1", "Accepted"),
        (EXTIF, "in-nowhere", "InvalidSpec"),
        (CNET, "net1", "Accepted"),
        (CNET, "bad-octet", "InvalidSpec"),
    ]

    def objects() -> list[JsonObject]:
        # whole objects: a status rewrite would move their resourceVersion
        return [kube.get(GROUP, kind, name, "default") for kind, name, _ in expected]

    async with run_reflector() as first:
        for kind, name, reason in expected:
            await says(kube, kind, name, reason)
        writer = await writer_of(first)
        # a whole pass done: the objects not listed above are reported too
        await eventually(lambda: _async(writer.passes >= 1 or None))
        before, events = objects(), len(kube.list("v1", "Event", namespace="default"))
        passes = writer.passes
        run_pod(kube, "bystander", "none", "node-1", "10.1.1.9")  # a change: another pass
        await give_id(store, "node-1", 1)  # the same record again: a pass too
        await eventually(lambda: _async(writer.passes >= passes + 2 or None))
        assert objects() == before
        assert len(kube.list("v1", "Event", namespace="default")) == events
        await first.stop()
    async with run_reflector(identity="r2") as second:
        writer = await writer_of(second)
        await eventually(lambda: _async(writer.passes >= 1 or None))
        writes = (writer.chains.writes, writer.externals.writes, writer.networks.writes)
        assert writes == (0, 0, 0)
    assert objects() == before
    assert len(kube.list("v1", "Event", namespace="default")) == events


class _Objects:
    """A KubeWriter over a dict of objects by path (what ``ObjectStatus`` sees of them)."""

    def __init__(self, objects: dict[str, JsonObject]) -> None:
        self.objects = objects
        self.created: list[JsonObject] = []

    async def get_object(self, path: str) -> JsonObject:
        return self.objects[path]

    async def merge_patch(self, path: str, patch: JsonObject) -> JsonObject:
        target = self.objects[path.removesuffix("/status")]
        target.update(patch)
        return target

    async def create_object(self, path: str, obj: JsonObject) -> JsonObject:
        self.created.append(obj)
        return obj


async def test_the_transition_time_moves_only_when_ready_flips() -> None:
    old = "2000-01-01T00:00:00Z"
    path = "/apis/contivpp.io/v1/namespaces/default/servicefunctionchains/c"
    status = Readiness(True, "Rendered", "a -> b").status()
    status["conditions"][0]["lastTransitionTime"] = old
    kube = _Objects({path: {"metadata": {"name": "c", "namespace": "default"}, "status": status}})
    reporter = ObjectStatus(kube, SFC)
    assert not await reporter.report(path, Readiness(True, "Rendered", "a -> b"))
    assert await reporter.report(path, Readiness(True, "Rendered", "a -> c"), success_event=True)
    (condition,) = kube.objects[path]["status"]["conditions"]
    assert (condition["message"], condition["lastTransitionTime"]) == ("a -> c", old)
    assert await reporter.report(path, Readiness(False, "NotRendered", "chain[1]: gone"))
    (condition,) = kube.objects[path]["status"]["conditions"]
    assert condition["lastTransitionTime"] != old
    assert [(e["type"], e["reason"]) for e in kube.created] == [
        ("Normal", "Rendered"),
        ("Warning", "NotRendered"),
    ]
