"""EndpointSlices list+watched from the stand-in (its endpointslice controller writes them) into
etcd under k8s/endpointslice/<name>/namespace/<ns>, kept in step as pods and services change."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from contivpy.models.decoded import Decoded
from contivpy.models.k8s_codec import EndpointSlice, decode
from contivpy.sim.kube import KubeApiStandIn
from contivpy.store import Store
from reflector.harness import Running, converged, eventually

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]

SERVICE_AND_POD = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]
"""


def slices_in(view: dict[str, bytes]) -> list[EndpointSlice]:
    found = []
    for key, value in view.items():
        if key.startswith("k8s/endpointslice/"):
            decoded = decode(key, value)
            assert isinstance(decoded, Decoded)
            assert isinstance(decoded.model, EndpointSlice)
            found.append(decoded.model)
    return found


async def test_slices_are_mirrored_into_etcd_and_follow_changes(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
    kube.apply_yaml(SERVICE_AND_POD)
    async with run_reflector():
        view = await converged(store, kube)
        (placeholder,) = slices_in(view)
        assert placeholder.service_name == "web"
        assert placeholder.endpoints == []

        kube.patch(
            "v1",
            "Pod",
            "web-1",
            {
                "status": {
                    "phase": "Running",
                    "podIP": "10.1.1.2",
                    "podIPs": [{"ip": "10.1.1.2"}],
                    "conditions": [{"type": "Ready", "status": "True"}],
                }
            },
            namespace="shop",
            subresource="status",
        )

        async def with_endpoint() -> dict[str, bytes] | None:
            now = await converged(store, kube)
            return now if any(s.endpoints for s in slices_in(now)) else None

        view = await eventually(with_endpoint)
        (one,) = slices_in(view)
        assert f"k8s/endpointslice/{one.name}/namespace/shop" in view
        assert (one.namespace, one.service_name, one.address_type) == ("shop", "web", "IPv4")
        (endpoint,) = one.endpoints
        assert endpoint.addresses == ["10.1.1.2"]
        assert (endpoint.ready, endpoint.serving, endpoint.terminating) == (True, True, False)
        assert endpoint.node_name == "node-1"
        assert endpoint.target_ref is not None
        assert endpoint.target_ref.name == "web-1"
        assert [(p.name, p.port) for p in one.ports] == [("http", 8080)]

        kube.delete("v1", "Service", "web", "shop")

        async def gone() -> dict[str, bytes] | None:
            now = await converged(store, kube)
            return now if not slices_in(now) else None

        await eventually(gone)
