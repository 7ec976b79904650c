"""The stand-in kubelet as a device-plugin client: pods asking for contivpp.io/memif are
admitted through the memif plugin (Allocate before networking), listed by pod-resources List,
refused while devices are short, and served again after the plugin restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from contivpy.api.device_plugin import MemifDevicePlugin
from contivpy.api.pod_resources import PodResourcesClient
from contivpy.deviceplugin import MemifAllocations, MemifPluginSettings
from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn, KubeletSettings
from contivpy.sim.kube.pod_network import PodNetworkResult
from doubles.device_plugins import eventually, memif_pod, plugin_settings, socket_dir

NODE = "node-1"


class RecordingCni:
    """Gives addresses; remembers which memif devices each pod held when it was networked."""

    def __init__(self) -> None:
        self.kube: KubeApiStandIn | None = None
        self.devices_at_setup: dict[str, list[str]] = {}

    async def setup(self, pod: dict[str, Any]) -> PodNetworkResult:
        name = pod["metadata"]["name"]
        assert self.kube is not None
        grants = self.kube.device_plugins(NODE).grants_of("default", name)
        self.devices_at_setup[name] = [d for g in grants for d in g.device_ids]
        return f"10.1.1.{len(self.devices_at_setup) + 1}"

    async def teardown(self, pod: dict[str, Any]) -> None:
        pass


@pytest.fixture
def base() -> Iterator[Path]:
    with socket_dir() as path:
        yield path


@pytest.fixture
def settings(base: Path) -> MemifPluginSettings:
    return plugin_settings(base, device_count=3)


@pytest.fixture
def cni() -> RecordingCni:
    return RecordingCni()


@pytest.fixture
async def cluster(
    cni: RecordingCni, settings: MemifPluginSettings, base: Path
) -> AsyncIterator[KubeApiStandIn]:
    standin = KubeApiStandIn(
        settings=ApiServerSettings(bookmark_interval=0.1),
        pod_network=cni.setup,
        pod_teardown=cni.teardown,
        kubelet=KubeletSettings(retry_initial=0.01, retry_max=0.05, max_attempts=3),
    )
    cni.kube = standin
    async with standin:
        standin.register_node(NODE, "192.168.16.1", "10.1.1.0/24")
        await standin.serve_device_plugins(
            NODE, settings.device_plugins_dir, base / "pod-resources.sock"
        )
        yield standin


def exists(path: Path) -> bool:
    return path.exists()


def plugin(settings: MemifPluginSettings, state: Path) -> MemifDevicePlugin:
    return MemifDevicePlugin(MemifAllocations(settings.memif_dir, state), settings)


def phase(kube: KubeApiStandIn, name: str) -> str:
    found = kube.find("v1", "Pod", name, "default")
    return str(found["status"].get("phase")) if found else "gone"


def warnings_of(kube: KubeApiStandIn, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in kube.list("v1", "Event", "default")
        if e["involvedObject"]["name"] == name and e["type"] == "Warning"
    ]


async def test_a_pod_asking_for_two_memifs_gets_them_before_its_network(
    cluster: KubeApiStandIn, cni: RecordingCni, settings: MemifPluginSettings, base: Path
) -> None:
    async with plugin(settings, base / "state") as memif:
        node_memifs = lambda: cluster.get("v1", "Node", NODE)["status"].get("allocatable")  # noqa: E731
        await eventually(lambda: (node_memifs() or {}).get("contivpp.io/memif") == "3")
        cluster.create(memif_pod("cnf", 2))
        await eventually(lambda: phase(cluster, "cnf") == "Running")

        (grant,) = cluster.device_plugins(NODE).grants_of("default", "cnf")
        assert cni.devices_at_setup["cnf"] == list(grant.device_ids)
        assert len(grant.device_ids) == 2
        assert grant.envs["MEMIF_SOCKET"] == "/run/vpp/memif.sock"
        ((container_path, host_path, read_only),) = grant.mounts
        assert (container_path, read_only) == ("/run/vpp", False)
        allocation = memif.allocations.grant_for(grant.device_ids)
        assert allocation is not None
        assert str(allocation.host_socket.parent) == host_path
        assert grant.envs["MEMIF_SECRET"] == allocation.secret
        assert grant.annotations["io.contivpp.memif.secret"] == allocation.secret
        assert cluster.get("v1", "Node", NODE)["status"]["capacity"]["contivpp.io/memif"] == "3"

        listed = await PodResourcesClient(base / "pod-resources.sock").list()
        (pod,) = [p for p in listed if p.name == "cnf"]
        assert pod.devices == {"contivpp.io/memif": grant.device_ids}


async def test_a_pod_asking_for_more_than_is_free_waits_with_a_warning_until_devices_free_up(
    cluster: KubeApiStandIn, settings: MemifPluginSettings, base: Path
) -> None:
    async with plugin(settings, base / "state") as memif:
        await eventually(lambda: cluster.device_plugins(NODE).devices.allocatable())
        cluster.create(memif_pod("first", 2))
        await eventually(lambda: phase(cluster, "first") == "Running")
        first_dir = cluster.device_plugins(NODE).grants_of("default", "first")[0].mounts[0][1]
        cluster.create(memif_pod("second", 2))

        await eventually(lambda: warnings_of(cluster, "second"))
        (warning,) = warnings_of(cluster, "second")
        assert warning["reason"] == "UnexpectedAdmissionError"
        assert "contivpp.io/memif. Requested: 2, Available: 1" in warning["message"]
        assert phase(cluster, "second") == "Pending"

        cluster.delete("v1", "Pod", "first", "default")
        await eventually(lambda: phase(cluster, "second") == "Running")
        assert len(cluster.device_plugins(NODE).grants_of("default", "second")[0].device_ids) == 2
        # The kubelet gave the first pod's devices to the second: the plugin made a new
        # directory and secret for them and released the first pod's.
        (allocation,) = memif.allocations.allocations()
        assert str(allocation.host_dir) != first_dir
        assert not exists(Path(first_dir))


async def test_a_bad_device_count_is_refused_naming_the_container_and_resource(
    cluster: KubeApiStandIn, settings: MemifPluginSettings, base: Path
) -> None:
    async with plugin(settings, base / "state"):
        await eventually(lambda: cluster.device_plugins(NODE).devices.allocatable())
        cluster.create(memif_pod("odd", "two"))
        await eventually(lambda: warnings_of(cluster, "odd"))
    warning = warnings_of(cluster, "odd")[0]
    assert warning["reason"] == "UnexpectedAdmissionError"
    assert "container 'c0'" in warning["message"]
    assert "contivpp.io/memif" in warning["message"]
    assert phase(cluster, "odd") == "Pending"


async def test_pods_are_served_again_after_the_plugin_restarts(
    cluster: KubeApiStandIn, settings: MemifPluginSettings, base: Path
) -> None:
    kubelet = cluster.device_plugins(NODE)
    async with plugin(settings, base / "state"):
        await eventually(lambda: kubelet.devices.allocatable())
        cluster.create(memif_pod("before", 1))
        await eventually(lambda: phase(cluster, "before") == "Running")
    # The plugin is gone (an agent restart): its devices cannot be given out.
    await eventually(lambda: kubelet.devices.allocatable() == {"contivpp.io/memif": 0})

    async with plugin(settings, base / "state") as restarted:
        await eventually(lambda: kubelet.devices.allocatable() == {"contivpp.io/memif": 3})
        assert kubelet.registrations == ["contivpp.io/memif"] * 2
        cluster.create(memif_pod("after", 1))
        await eventually(lambda: phase(cluster, "after") == "Running")
        (after,) = kubelet.grants_of("default", "after")
        (before,) = kubelet.grants_of("default", "before")
        assert after.device_ids != before.device_ids
        assert restarted.allocations.grant_for(before.device_ids) is not None  # kept on disk
