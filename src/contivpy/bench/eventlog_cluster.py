"""The cluster the ``eventlog`` benchmark reflects: nodes, namespaces and pods in the stand-in.

In: a ``ClusterShape`` and a running ``KubeApiStandIn``. Out: the stand-in populated through
its Python API (the same write rules as HTTP clients) — Ready nodes, namespaces, and pods
bound to nodes and Running with their IPs, as a scheduler and kubelets would have left them —
plus what the benchmark needs to know about them: every pod's (namespace, name), the local
pods of the agent's node (for its pod registry), the ``allocatedIDs`` records the other nodes'
agents would have written, and the bytes the reflector must write for a pod (the codec's).

Layout: node 1 (``node-001``) is the node whose agent the benchmark starts. It runs
``local_pods`` pods on the pod network (IPs from its pod subnet, as node ID 1 gets) and
``local_host_network_pods`` host-network pods; every other node runs an even share of the rest,
one of them on the host network (a kube-proxy-like daemon), the others on the pod network with
IPs from that node's subnet (node N has node ID N). Pods are spread round-robin over the
namespaces. Each pod is a realistic Deployment pod (owner reference, labels, one container with
a port, resources and environment, a service account volume), about 1.6 KB of JSON as the
API server returns it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contivpy.controllers.addressing import AddressPlan
from contivpy.models.k8s_codec import VppNode, encode, key_of
from contivpy.reflector.converting import convert
from contivpy.settings import IpamSettings
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.kube.objects import JsonObject

AGENT_NODE_ID = 1
_TEMPLATE_HASH = "5d4c7b9f8"  # a ReplicaSet's pod-template-hash, shared by every bench pod


@dataclass(frozen=True, slots=True)
class ClusterShape:
    """How big the reflected cluster is and how much of it is on the agent's node."""

    pods: int
    nodes: int
    namespaces: int
    local_pods: int  # on the agent's node, on the pod network: wired at the agent's fold
    local_host_network_pods: int  # on the agent's node, host network: nothing to wire

    def describe(self) -> str:
        local = self.local_pods + self.local_host_network_pods
        return (
            f"{self.pods:,} pods on {self.nodes} nodes in {self.namespaces} namespaces "
            f"({local} on the agent's node)"
        )


@dataclass(frozen=True, slots=True)
class PodPlacement:
    """Where one pod runs and with which address."""

    namespace: str
    name: str
    node_id: int
    ip: str
    host_network: bool
    app: str  # the Deployment it belongs to (its ``app`` label)


def node_name(node_id: int) -> str:
    return f"node-{node_id:03d}"


def namespace_name(index: int) -> str:
    return f"team-{index:02d}"


def _node_ip(plan: AddressPlan, node_id: int) -> str:
    return str(plan.node(node_id).node_address)


def placements(shape: ClusterShape, plan: AddressPlan) -> list[PodPlacement]:
    """Every pod of the shape, in creation order (see the module doc for the layout)."""
    if shape.nodes < 2:
        raise ValueError("the cluster needs the agent's node and at least one other")
    remote = shape.pods - shape.local_pods - shape.local_host_network_pods
    if remote < shape.nodes - 1:
        raise ValueError("fewer pods than other nodes")
    on_node: dict[int, int] = {}
    out: list[PodPlacement] = []
    for index in range(shape.pods):
        if index < shape.local_pods + shape.local_host_network_pods:
            node_id = AGENT_NODE_ID
            host_network = index >= shape.local_pods
        else:
            node_id = 2 + (index - shape.local_pods - shape.local_host_network_pods) % (
                shape.nodes - 1
            )
            host_network = node_id not in on_node  # each node's first pod: its daemon
        count = on_node.get(node_id, 0)
        on_node[node_id] = count + 1
        if host_network:
            ip = _node_ip(plan, node_id)
        else:
            # host 1 of a pod subnet is the gateway; hand out from host 2 on
            subnet = plan.node(node_id).pod_subnet
            if count + 2 >= subnet.num_addresses - 1:
                raise ValueError(f"too many pods for {node_name(node_id)}'s subnet {subnet}")
            ip = str(subnet.network_address + count + 2)
        namespace = namespace_name(index % shape.namespaces)
        app = f"svc-{index % 50:02d}"
        name = f"{app}-{_TEMPLATE_HASH}-{index:05d}"
        out.append(PodPlacement(namespace, name, node_id, ip, host_network, app))
    return out


def _pod(placement: PodPlacement, replica_set_uid: str) -> JsonObject:
    app = placement.app
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": placement.name,
            "namespace": placement.namespace,
            "labels": {"app": app, "tier": "web", "pod-template-hash": _TEMPLATE_HASH},
            "annotations": {"contivpp.io/bench": "eventlog"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-{_TEMPLATE_HASH}",
                    "uid": replica_set_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": node_name(placement.node_id),
            "hostNetwork": placement.host_network,
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/team/app:1.4.2",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "LISTEN", "value": ":8080"},
                    ],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                    "volumeMounts": [
                        {
                            "name": "kube-api-access",
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420}}],
        },
    }


def _running_status(placement: PodPlacement, host_ip: str) -> JsonObject:
    ready = {"status": "True", "lastProbeTime": None}
    return {
        "status": {
            "phase": "Running",
            "hostIP": host_ip,
            "podIP": placement.ip,
            "podIPs": [{"ip": placement.ip}],
            "qosClass": "Burstable",
            "conditions": [{"type": t, **ready} for t in ("Initialized", "Ready", "PodScheduled")],
        }
    }


def populate(kube: KubeApiStandIn, shape: ClusterShape, plan: AddressPlan) -> list[PodPlacement]:
    """Create the shape's nodes, namespaces and Running pods in the stand-in."""
    for node_id in range(1, shape.nodes + 1):
        subnet = str(plan.node(node_id).pod_subnet)
        kube.register_node(node_name(node_id), _node_ip(plan, node_id), subnet)
    for index in range(shape.namespaces):
        kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace_name(index)}}
        )
    pods = placements(shape, plan)
    replica_set_uid = str(uuid.uuid4())
    for placement in pods:
        kube.create(_pod(placement, replica_set_uid))
        kube.patch(
            "v1",
            "Pod",
            placement.name,
            _running_status(placement, _node_ip(plan, placement.node_id)),
            namespace=placement.namespace,
            subresource="status",
        )
    return pods


def address_plan() -> AddressPlan:
    """The address plan of the agent's default settings (pod IPs are taken from it)."""
    return AddressPlan(IpamSettings())


def other_node_records(shape: ClusterShape, plan: AddressPlan) -> dict[str, bytes]:
    """``allocatedIDs/<id>`` records of every node but the agent's, as their agents' nodesync
    would have written them (key relative to the reflector prefix -> bytes)."""
    prefix_len = IpamSettings().node_interconnect_cidr.prefixlen
    records = {}
    for node_id in range(1, shape.nodes + 1):
        if node_id == AGENT_NODE_ID:
            continue
        address = f"{plan.node(node_id).node_address}/{prefix_len}"
        record = VppNode(id=node_id, name=node_name(node_id), ip_addresses=[address])
        records[key_of(record)] = encode(record)
    return records


def expected_pod(kube: KubeApiStandIn, namespace: str, name: str) -> tuple[str, bytes]:
    """(key, bytes) the reflector must write for the stand-in's pod now: the codec's."""
    model = convert("pod", kube.get("v1", "Pod", name, namespace))
    return key_of(model), encode(model)
