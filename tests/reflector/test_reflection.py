"""Reflection end to end: the stand-in API server -> reflector -> the session etcd."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp

from contivpy.models.decoded import Decoded
from contivpy.models.k8s_codec import (
    CustomConfiguration,
    CustomNetwork,
    ExternalInterface,
    LabelSelector,
    NetworkType,
    Node,
    Pod,
    Policy,
    PolicyType,
    Protocol,
    Service,
    ServiceFunctionChain,
    ServiceFunctionType,
    decode,
)
from contivpy.reflector import STATUS_KEY
from contivpy.sim.kube import KubeApiStandIn
from contivpy.store import Store
from reflector.harness import KSR, Running, converged, eventually

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]

EVERY_KIND = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {contivpp.io/custom-if: "m1/memif/net1", unrelated.io/x: "dropped"}
spec:
  nodeName: node-1
  containers:
  - {name: main, image: nginx, ports: [{name: http, containerPort: 80, protocol: TCP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec: {nodeName: node-1, hostNetwork: true, containers: [{name: a, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, annotations: {contivpp.io/service-endpoint-if: m1}}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{name: http, port: 80, targetPort: http, protocol: UDP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual, namespace: shop}
subsets:
- addresses: [{ip: 10.1.1.9, nodeName: node-1, targetRef: {kind: Pod, name: web, namespace: shop}}]
  ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: kube-scheduler, namespace: kube-system}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports: [{port: 5432}]
  egress: [{}]
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata: {name: net1, namespace: shop}
spec: {type: L3, subnetCIDR: 10.100.0.0/16, subnetOneNodePrefixLen: 24}
---
apiVersion: contivpp.io/v1
kind: ExternalInterface
metadata: {name: ext1, namespace: shop}
spec:
  type: L2
  network: net1
  nodes: [{node: node-1, vppInterfaceName: GigabitEthernet0/a/0, vlan: 200, ip: 10.9.9.1/24}]
---
apiVersion: contivpp.io/v1
kind: ServiceFunctionChain
metadata: {name: chain, namespace: shop}
spec:
  network: net1
  unidirectional: true
  chain:
  - {name: a, type: Pod, podSelector: {app: web}, interface: m1}
  - {name: b, type: ExternalInterface, interface: ext1}
---
apiVersion: contivpp.io/v1
kind: CustomConfiguration
metadata: {name: cfg, namespace: shop}
spec:
  microservice: node-1
  configItems: [{module: vpp.l2, type: bridge-domain, version: v2, name: bd1, data: "name: bd1"}]
"""


def model_of(view: dict[str, bytes], key: str) -> Any:
    decoded = decode(key, view[key])
    assert isinstance(decoded, Decoded)
    return decoded.model


async def test_every_kind_lands_under_its_key(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
    kube.apply_yaml(EVERY_KIND)
    kube.patch(
        "v1",
        "Pod",
        "web",
        {
            "status": {
                "phase": "Running",
                "hostIP": "192.168.16.1",
                "podIP": "10.1.1.2",
                "podIPs": [{"ip": "10.1.1.2"}, {"ip": "fd00::2"}],
            }
        },
        namespace="shop",
        subresource="status",
    )
    async with run_reflector() as running:
        view = await converged(store, kube)
        assert running.reflector.leading
    assert {
        "k8s/namespace/shop",
        "k8s/node/node-1",
        "k8s/pod/web/namespace/shop",
        "k8s/pod/agent/namespace/kube-system",
        "k8s/service/web/namespace/shop",
        "k8s/endpoints/manual/namespace/shop",
        "k8s/policy/db/namespace/shop",
        "k8s/customnetwork/net1/namespace/shop",
        "k8s/external-interface/ext1/namespace/shop",
        "k8s/servicefunctionchain/chain/namespace/shop",
        "k8s/customconfiguration/cfg/namespace/shop",
    } <= view.keys()
    assert "k8s/endpoints/kube-scheduler/namespace/kube-system" not in view

    web = model_of(view, "k8s/pod/web/namespace/shop")
    assert isinstance(web, Pod)
    assert web.annotations == {"contivpp.io/custom-if": "m1/memif/net1"}
    assert (web.node_name, web.phase, web.host_network) == ("node-1", "Running", False)
    assert (web.ip_address, web.ip_addresses) == ("10.1.1.2", ["10.1.1.2", "fd00::2"])
    assert web.host_ip_address == "192.168.16.1"
    assert web.containers[0].ports[0].container_port == 80
    assert model_of(view, "k8s/pod/agent/namespace/kube-system").host_network is True

    service = model_of(view, "k8s/service/web/namespace/shop")
    assert isinstance(service, Service)
    assert service.session_affinity_timeout == 10800  # the Kubernetes default, filled in
    assert service.ports[0].protocol is Protocol.UDP
    assert service.ports[0].target_port is not None
    assert service.ports[0].target_port.name == "http"
    assert service.cluster_ip.startswith("10.9")
    assert service.annotations == {"contivpp.io/service-endpoint-if": "m1"}

    policy = model_of(view, "k8s/policy/db/namespace/shop")
    assert isinstance(policy, Policy)
    assert policy.policy_type is PolicyType.INGRESS_AND_EGRESS
    both, block = policy.ingress_rules[0].from_
    assert both.namespace_selector == LabelSelector(match_labels={"team": "a"})
    assert both.pod_selector is not None
    assert both.pod_selector.match_expressions[0].values == ["web"]
    assert block.ip_block is not None
    assert block.ip_block.except_ == ["10.1.0.0/16"]
    assert policy.egress_rules[0].to == []  # an empty rule: every destination

    node = model_of(view, "k8s/node/node-1")
    assert isinstance(node, Node)
    assert node.pod_cidr == "10.1.1.0/24"
    assert (node.addresses[0].type, node.addresses[0].address) == ("InternalIP", "192.168.16.1")

    network = model_of(view, "k8s/customnetwork/net1/namespace/shop")
    assert isinstance(network, CustomNetwork)
    assert (network.type, network.subnet_one_node_prefix_len) == (NetworkType.L3, 24)
    ext = model_of(view, "k8s/external-interface/ext1/namespace/shop")
    assert isinstance(ext, ExternalInterface)
    assert ext.nodes[0].vlan == 200
    chain = model_of(view, "k8s/servicefunctionchain/chain/namespace/shop")
    assert isinstance(chain, ServiceFunctionChain)
    assert [f.type for f in chain.chain] == [
        ServiceFunctionType.POD,
        ServiceFunctionType.EXTERNAL_INTERFACE,
    ]
    config = model_of(view, "k8s/customconfiguration/cfg/namespace/shop")
    assert isinstance(config, CustomConfiguration)
    assert config.config_items[0].data == "name: bd1"


async def test_adds_updates_and_deletes_propagate(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector() as running:
        await converged(store, kube)
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}")
        await converged(store, kube)
        kube.patch("v1", "Namespace", "a", {"metadata": {"labels": {"x": "1"}}})
        view = await converged(store, kube)
        assert model_of(view, "k8s/namespace/a").labels["x"] == "1"
        kube.delete("v1", "Namespace", "a")
        view = await converged(store, kube)
        assert "k8s/namespace/a" not in view
        stats = running.reflector.stats

        async def counted() -> bool:  # counted just after the write etcd already shows
            values = stats.snapshot()["namespace"]
            return (values["adds"], values["updates"], values["deletes"]) == (5, 1, 1)

        await eventually(counted)
        gauges = await eventually(lambda: _gauges_with(store, "namespace", "deletes", 1))
        assert gauges["namespace"]["adds"] == 5


async def _gauges_with(store: Store, kind: str, name: str, value: int) -> dict[str, Any] | None:
    import json

    got = await store.get(KSR + STATUS_KEY)
    if got.item is None:
        return None
    gauges: dict[str, Any] = json.loads(got.item.value)
    return gauges if gauges[kind][name] == value else None


async def test_a_status_change_the_model_does_not_keep_is_not_written(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
    async with run_reflector():
        await converged(store, kube)
        before = (await store.get(KSR + "k8s/node/node-1")).item
        assert before is not None
        # Conditions are not part of the model: the object changes, its reflection does not.
        kube.patch(
            "v1",
            "Node",
            "node-1",
            {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
            subresource="status",
        )
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: later}")
        await converged(store, kube)
        after = (await store.get(KSR + "k8s/node/node-1")).item
        assert after is not None
        assert after.mod_revision == before.mod_revision


async def test_a_restart_rewrites_nothing_unchanged_and_sweeps_what_went_while_down(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(EVERY_KIND)
    async with run_reflector() as first:
        await converged(store, kube)
        await first.stop()
    revisions = {i.key: i.mod_revision for i in (await store.list(KSR + "k8s/")).items}
    kube.delete("contivpp.io/v1", "CustomNetwork", "net1", namespace="shop")
    kube.delete("v1", "Pod", "agent", namespace="kube-system")
    kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: new}")
    async with run_reflector(identity="r2") as second:
        view = await converged(store, kube)
        await eventually(lambda: _synced(second))
    after = {i.key: i.mod_revision for i in (await store.list(KSR + "k8s/")).items}
    assert KSR + "k8s/customnetwork/net1/namespace/shop" not in after
    assert KSR + "k8s/pod/agent/namespace/kube-system" not in after
    assert "k8s/namespace/new" in view
    unchanged = {k: r for k, r in after.items() if k in revisions}
    assert unchanged == {k: revisions[k] for k in unchanged}  # none rewritten
    assert second.reflector.stats.value("pod", "updates") == 0


async def _synced(handle: Running) -> bool:
    mirror = handle.reflector.mirror
    return mirror is not None and mirror.synced.is_set()


async def test_410_gone_relists_and_ends_right(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(EVERY_KIND)
    async with run_reflector() as running:
        await converged(store, kube)
        pods = next(i for i in running.reflector.informers if i.kind.resource == "pod")
        lists = pods.lists
        # All in one synchronous step, so the informers cannot resume in between: their
        # watches drop, changes happen that no watch delivers, and the history is compacted.
        kube.drop_watches()
        kube.delete("v1", "Pod", "web", namespace="shop")
        kube.apply_yaml(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: shop}\n"
            "spec: {containers: [{name: c, image: i}]}"
        )
        kube.compact()
        view = await converged(store, kube)
        assert pods.lists > lists  # relisted after 410
    assert "k8s/pod/web/namespace/shop" not in view
    assert "k8s/pod/p2/namespace/shop" in view


async def test_a_missing_crd_counts_as_empty_until_installed(
    store: Store, run_reflector: RunReflector, kube: KubeApiStandIn
) -> None:
    kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customnetworks.contivpp.io")
    async with run_reflector():
        await converged(store, kube)
        kube.install_contivpp_crds()
        kube.apply_yaml(
            "apiVersion: contivpp.io/v1\nkind: CustomNetwork\n"
            "metadata: {name: late, namespace: default}\nspec: {type: L2}"
        )
        view = await converged(store, kube)
    assert "k8s/customnetwork/late/namespace/default" in view


async def test_metrics_are_served(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector(metrics_port=0, metrics_host="127.0.0.1") as running:
        await converged(store, kube)
        port = running.reflector.metrics_port
        assert port
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
    assert 'contivpy_reflector_adds_total{kind="namespace"} 4.0' in text
    assert 'contivpy_reflector_resyncs_total{kind="pod"}' in text
    assert "contivpy_reflector_leader 1.0" in text


async def test_dropped_watches_resume_without_a_relist(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector() as running:
        await converged(store, kube)
        lists = {i.kind.resource: i.lists for i in running.reflector.informers}
        kube.drop_watches()  # as when the API server restarts
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: later}")
        await converged(store, kube)
        assert {i.kind.resource: i.lists for i in running.reflector.informers} == lists
