"""Memif pods in the whole demo cluster (the memif device plugin in the agent, the stand-in
kubelet as its client): the kubelet allocates the pod's devices before networking it, VPP's
memif master serves the allocation's socket with its secret, the CNF's side lands in its etcd
subtree; deleting the pod removes the socket directory, the secret and every value it caused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contivpy.controllers import naming
from contivpy.demo.cluster import demo_cluster
from contivpy.demo.cnfs import memif_dir


def cnf_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {
                "contivpp.io/custom-if": "memif1/memif",
                "contivpp.io/microservice-label": name,
            },
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "vpp", "image": "x", "resources": {"limits": {"contivpp.io/memif": 1}}}
            ],
        },
    }


async def test_a_memif_pod_is_wired_on_its_allocation_and_cleaned_up_on_delete(
    tmp_path: Path,
) -> None:
    async with demo_cluster(tmp_path, node_count=1) as cluster:
        kube, store, node = cluster.kube, cluster.store, cluster.nodes[0]
        assert kube is not None
        assert store is not None
        assert node.agent is not None
        kube.apply(cnf_pod("cnf-a"))

        def running() -> dict[str, Any] | None:
            for pod in kube.list("v1", "Pod", "default"):
                if (pod.get("status") or {}).get("phase") == "Running":
                    return pod
            return None

        pod = await kube.wait_for(running, within=30)
        directory = memif_dir(kube, pod)
        assert directory is not None
        assert directory.is_dir()
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        local = next(p for p in node.agent.pods.pods.values() if p.pod.name == "cnf-a")
        assert local.memif is not None
        assert local.memif.socket_path == str(directory / "memif.sock")
        (grant,) = kube.device_plugins("node-1").grants_of("default", "cnf-a")
        assert grant.envs["MEMIF_SECRET"] == local.memif.secret
        master = next(
            i
            for i in node.sim.state.interfaces.values()
            if i.tag == naming.custom_memif("memif1", local.container_id)
        )
        assert master.memif is not None
        assert master.memif.secret == local.memif.secret
        assert node.sim.state.memif_sockets[master.memif.socket_id] == local.memif.socket_path
        written = (await store.list("/vnf-agent/cnf-a/")).items
        assert written

        kube.delete("v1", "Pod", "cnf-a", "default")
        await kube.wait_for(lambda: True if not directory.exists() else None, within=30)
        assert not (await store.list("/vnf-agent/cnf-a/")).items
        assert all(
            i.tag != naming.custom_memif("memif1", local.container_id)
            for i in node.sim.state.interfaces.values()
        )
