"""The Kubernetes API stand-in: a small, real-behaving API server for tests and the demo.

In: Kubernetes REST requests over HTTP (from kubernetes_asyncio, the reflector, ``apply``), or
calls of the Python API. Out: list/watch/CRUD with resourceVersion, bookmarks, 410 Expired,
selectors, status subresources, CRDs, and an optional scheduler + kubelet simulation that
networks pods through a callback. Nothing here is used by the agent in production.

Modules, from the inside out: objects (JSON vocabulary), errors (Status objects), resources
(served kinds), store (objects, versions, change window), selectors, patching, schema and
validation and defaults (write rules), writes (the verbs), listing and watching (reads),
custom_resources and crds (CRDs), discovery, apiserver (all of it joined), http_server
(aiohttp), scheduling, pod_network, devices and device_plugins (the kubelet's device-plugin
side over gRPC), kubelet and endpoints (simulation), kubeconfig, manifests,
http_client (``apply`` over HTTP), standin (the one object tests use), commands (CLI entries).
"""

from contivpy.sim.kube.apiserver import ApiServer, ApiServerSettings
from contivpy.sim.kube.crds import contivpp_crds, contivpp_crds_yaml
from contivpy.sim.kube.errors import KubeApiError, ManifestError, ServerUnreachable
from contivpy.sim.kube.http_client import ApplyResult, apply_manifests, apply_objects
from contivpy.sim.kube.kubeconfig import write_kubeconfig
from contivpy.sim.kube.kubelet import KubeletSettings, node_manifest
from contivpy.sim.kube.pod_network import PodCidrAllocator, PodNetworkFailure
from contivpy.sim.kube.standin import KubeApiStandIn

__all__ = [
    "ApiServer",
    "ApiServerSettings",
    "ApplyResult",
    "KubeApiError",
    "KubeApiStandIn",
    "KubeletSettings",
    "ManifestError",
    "PodCidrAllocator",
    "PodNetworkFailure",
    "ServerUnreachable",
    "apply_manifests",
    "apply_objects",
    "contivpp_crds",
    "contivpp_crds_yaml",
    "node_manifest",
    "write_kubeconfig",
]
