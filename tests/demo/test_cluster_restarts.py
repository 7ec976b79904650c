"""Whole-cluster faults: an etcd restart loses no event, a reflector restart deletes no pod."""

from __future__ import annotations

from pathlib import Path

from contivpy.demo.cluster import demo_cluster
from contivpy.demo.report import running_pods
from contivpy.events.types import KubeStateChange
from doubles.agent_nodes import eventually

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: NAME, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
"""


def pod_deletes_seen(cluster: object) -> int:
    """Pod deletions the agents' event loops processed."""
    count = 0
    for node in cluster.nodes:  # type: ignore[attr-defined]
        for record in node.agent.history.records():
            if (
                record.name == KubeStateChange.name
                and record.description.startswith("pod ")
                and ("deleted" in record.description)
            ):
                count += 1
    return count


async def test_reflector_restart_deletes_no_pod_and_etcd_restart_loses_no_event(
    tmp_path: Path,
) -> None:
    async with demo_cluster(tmp_path, node_count=2) as cluster:
        kube = cluster.kube
        assert kube is not None
        for i in range(4):
            kube.apply_yaml(PODS.replace("NAME", f"p{i}"))
        await kube.wait_for(lambda: True if len(running_pods(cluster)) == 4 else None, within=30)

        # The reflector restarts: its mark-and-sweep must not make pods vanish from etcd.
        await cluster.stop_reflector()
        kube.apply_yaml(PODS.replace("NAME", "while-down"))
        await cluster.start_reflector()
        await kube.wait_for(lambda: True if len(running_pods(cluster)) == 5 else None, within=30)

        # etcd restarts: the agents' watches resume; a pod created meanwhile still arrives.
        assert cluster.etcd is not None
        await cluster.etcd.restart()
        kube.apply_yaml(PODS.replace("NAME", "after-etcd"))
        await kube.wait_for(lambda: True if len(running_pods(cluster)) == 6 else None, within=30)

        def agents_know(count: int) -> bool:
            return all(
                node.agent is not None and len(node.agent.loop.kube_state.get("pod", {})) >= count
                for node in cluster.nodes
            )

        await eventually(lambda: agents_know(6))
        assert pod_deletes_seen(cluster) == 0
