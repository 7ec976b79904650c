"""A pod whose contivpp.io/custom-if annotation cannot be honoured, in the whole demo cluster:
the kubelet gets the CNI error naming the annotation and the entry and records it as a
Warning Event on the pod (as a real kubelet does), the agent's event history holds it, and the
other pods are networked as if nothing happened.

The pods are bound to the node only once the agent holds their annotations: the kubelet and
the reflector watch the API server independently, and an ADD that outruns the reflection is
networked without custom interfaces and gets them (or the error, in the agent's history and
log) when the annotations arrive (tests/agent/test_custom_interfaces.py covers that path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contivpy.controllers.pod_ips import PodID
from contivpy.demo.cluster import demo_cluster
from contivpy.demo.report import running_pods


def pod(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
        # Not the default scheduler: the test binds it when the agent has reflected it.
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "schedulerName": "by-test"},
    }


async def test_a_bad_annotation_is_an_event_on_the_pod_and_nothing_else_suffers(
    tmp_path: Path,
) -> None:
    async with demo_cluster(tmp_path, node_count=1) as cluster:
        kube = cluster.kube
        assert kube is not None
        kube.apply(pod("good", {"contivpp.io/custom-if": "tap1/tap"}))
        kube.apply(pod("bad", {"contivpp.io/custom-if": "tap1/tap, eth1/warp-drive"}))
        kube.apply(pod("plain"))
        agent = cluster.nodes[0].agent
        assert agent is not None
        names = ("good", "bad", "plain")
        await kube.wait_for(
            lambda: True if all(agent.pods.reflected(PodID("default", n)) for n in names) else None,
            within=30,
        )
        for name in names:
            kube.api.writer.bind("default", name, "node-1")

        def warning() -> dict[str, Any] | None:
            for event in kube.list("v1", "Event", "default"):
                if event["involvedObject"]["name"] == "bad" and event["type"] == "Warning":
                    return event
            return None

        event = await kube.wait_for(warning, within=30)
        assert event["reason"] == "FailedCreatePodSandBox"
        message = event["message"]
        assert "annotation contivpp.io/custom-if" in message
        assert "entry 'eth1/warp-drive': unknown type 'warp-drive'" in message
        await kube.wait_for(
            lambda: True if {p.name for p in running_pods(cluster)} >= {"good", "plain"} else None,
            within=30,
        )
        assert "bad" not in {p.name for p in running_pods(cluster)}
        failed = [r for r in agent.loop.history.records() if "default/bad" in r.description]
        assert failed
        assert all("unknown type 'warp-drive'" in r.error for r in failed)
        good = [p for p, local in agent.pods.pods.items() if p.name == "good"]
        assert len(good) == 1
        assert agent.pods.pods[good[0]].custom[0].name == "tap1"
