"""A kubeconfig file for the stand-in: plain HTTP, no credentials.

In: the server URL, a path, and optionally the context's namespace. Out: a kubeconfig file
that kubernetes_asyncio's ``load_kube_config(config_file=...)`` and kubectl accept. The user
entry is an empty mapping (``user: {}``), which both accept; ``KubeConfig.from_server`` style
helpers of some clients do not, so always go through a file or a dict like this one.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from contivpy.sim.kube.objects import JsonObject

CONTEXT = "contivpy-standin"


def kubeconfig_document(server_url: str, namespace: str = "default") -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str, namespace: str = "default") -> Path:
    """Write (or overwrite) the kubeconfig; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_document(server_url, namespace), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def server_from_kubeconfig(path: Path) -> str:
    """The server URL of the current context's cluster (for ``apply`` given a kubeconfig)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    current = document.get("current-context")
    contexts = {c["name"]: c.get("context", {}) for c in document.get("contexts") or []}
    clusters = {c["name"]: c.get("cluster", {}) for c in document.get("clusters") or []}
    cluster_name = contexts.get(current, {}).get("cluster")
    server = clusters.get(cluster_name, {}).get("server")
    if not isinstance(server, str) or not server:
        raise ValueError(f"{path}: the current context names no cluster server")
    return server
