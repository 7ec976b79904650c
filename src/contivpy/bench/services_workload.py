"""The ``services`` suite's Kubernetes objects and how they reach the node agent.

In: counts (services, local pods, policies) and sample numbers. Out: the reflected objects
the suite writes into etcd under the agent's ksr prefix (``models.k8s_codec`` ``encode`` /
``key_of``, as the reflector stores them), and helpers that write them:

- services: ``svc-<i>`` in namespace ``bench``, a ClusterIP (``10.96.0.0/12``, the i-th
  address after ``10.96.1.0``) with one TCP port 80 named ``http``; its Endpoints hold
  ``ENDPOINTS`` (3) backends on port 8080 on other nodes' pod subnets (``10.1.128.0/17``, each
  endpoint its own IP), plus, for the endpoint-change samples, a fourth that comes and goes;
- local pods: ``pod-<i>`` in namespace ``bench`` on this node with the IP its CNI ADD got and
  labels ``app=app-<i>`` and ``group=g-<i mod GROUPS>``;
- policies: ``np-<j>`` selects ``app=app-<j>`` and admits TCP ``1000 + j`` from
  ``group=g-<j mod GROUPS>``: every local pod is isolated by one policy whose peers are
  ``1/GROUPS`` of the pods, so a pod's ``group`` is in the peers of ``N/GROUPS`` policies;
- a label change (``pod`` with ``shift`` 1) gives a pod the next pod's ``app``: the policy
  isolating it changes (its table, ACL and interface value with it).

Objects are written in etcd transactions of ``_BATCH`` puts (etcd's default limit is 128
operations per transaction); the agent's watch still sees one change per key.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any

from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Pod,
    Policy,
    Service,
    ServicePort,
    encode,
    key_of,
)
from contivpy.reflector.converting import convert
from contivpy.store.api import PutOp, Txn
from contivpy.store.etcd import EtcdStore

NAMESPACE = "bench"
ENDPOINTS = 3
GROUPS = 50
SERVICE_PORT = 80
TARGET_PORT = 8080
_FIRST_CLUSTER_IP = ipaddress.IPv4Address("10.96.1.0")
_FIRST_ENDPOINT = ipaddress.IPv4Address("10.1.128.0")
_EXTRA_ENDPOINTS = ipaddress.IPv4Address("10.1.250.0")  # the samples' fourth endpoints
_BATCH = 100

Model = Service | Endpoints | Pod | Policy


def service_name(index: int) -> str:
    return f"svc-{index}"


def service_id(index: int) -> str:
    """The services controller's ID of service ``index``."""
    return f"{NAMESPACE}/{service_name(index)}"


def cluster_ip(index: int) -> str:
    return str(_FIRST_CLUSTER_IP + index)


def service(index: int) -> Service:
    return Service(
        name=service_name(index),
        namespace=NAMESPACE,
        cluster_ip=cluster_ip(index),
        service_type="ClusterIP",
        ports=[ServicePort(name="http", port=SERVICE_PORT)],
    )


def endpoint_ips(index: int, extra: bool = False) -> list[str]:
    """Service ``index``'s backend IPs (with ``extra``: and its fourth)."""
    ips = [str(_FIRST_ENDPOINT + ENDPOINTS * index + n) for n in range(ENDPOINTS)]
    if extra:
        ips.append(str(_EXTRA_ENDPOINTS + index))
    return ips


def endpoints(index: int, extra: bool = False) -> Endpoints:
    return Endpoints(
        name=service_name(index),
        namespace=NAMESPACE,
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=ip) for ip in endpoint_ips(index, extra)],
                ports=[EndpointPort(name="http", port=TARGET_PORT)],
            )
        ],
    )


def pod_name(index: int) -> str:
    return f"pod-{index}"


def pod_labels(index: int, shift: int = 0) -> dict[str, str]:
    """Pod ``index``'s labels; ``shift`` 1: the next pod's ``app`` (a label change: another
    policy isolates it; its ``group``, and so the peers of other policies, stay)."""
    return {"app": f"app-{index + shift}", "group": f"g-{index % GROUPS}"}


def pod(index: int, node: str, ip: str, shift: int = 0) -> Pod:
    return Pod(
        name=pod_name(index),
        namespace=NAMESPACE,
        node_name=node,
        ip_address=ip,
        labels=pod_labels(index, shift),
    )


def policy_port(index: int) -> int:
    """The port policy ``index`` admits: its own, so that a pod isolated by another policy
    always gets another table."""
    return 1000 + index


def policy(index: int) -> Policy:
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {"app": f"app-{index}"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"group": f"g-{index % GROUPS}"}}}],
                "ports": [{"protocol": "TCP", "port": policy_port(index)}],
            }
        ],
    }
    model = convert(
        "policy", {"metadata": {"name": f"np-{index}", "namespace": NAMESPACE}, "spec": spec}
    )
    assert isinstance(model, Policy)
    return model


async def put(store: EtcdStore, prefix: str, model: Model) -> int:
    """Write one object; the etcd revision of the write."""
    return (await store.put(prefix + key_of(model), encode(model))).revision


def encoded(prefix: str, models: Sequence[Model]) -> list[tuple[str, bytes]]:
    """The keys and values of ``models`` as stored (made before a clock starts: encoding is
    the reflector's work, not the agent's)."""
    return [(prefix + key_of(m), encode(m)) for m in models]


async def put_all(store: EtcdStore, items: Sequence[tuple[str, bytes]]) -> None:
    """Write many keys, ``_BATCH`` per etcd transaction, two transactions in flight."""
    batches = [items[i : i + _BATCH] for i in range(0, len(items), _BATCH)]
    gate = asyncio.Semaphore(2)

    async def one(batch: Sequence[tuple[str, bytes]]) -> None:
        async with gate:
            await store.txn(Txn(success=tuple(PutOp(key, value) for key, value in batch)))

    await asyncio.gather(*(one(batch) for batch in batches))
