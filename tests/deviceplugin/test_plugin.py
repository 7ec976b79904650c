"""The memif device plugin over real gRPC on unix sockets, with the stand-in kubelet as peer:
registration, ListAndWatch, Allocate, restarts of either side, and no secret in any log."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Status
from structlog.testing import capture_logs

from contivpy._gen import v1beta1
from contivpy.api.device_plugin import MemifDevicePlugin
from contivpy.api.pod_resources import MemifPodLookup, PodResourcesClient, PodResourcesUnavailable
from contivpy.deviceplugin import MemifAllocations, MemifPluginSettings
from contivpy.sim.kube.device_plugins import KubeletDevicePlugins
from doubles.device_plugins import eventually, memif_pod

DEVICES = [f"contivpp.io/memif/{i}" for i in range(5)]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def exists(path: Path) -> bool:
    return path.exists()


def plugin(settings: MemifPluginSettings, state: Path) -> MemifDevicePlugin:
    return MemifDevicePlugin(MemifAllocations(settings.memif_dir, state), settings)


async def allocate(settings: MemifPluginSettings, *requests: list[str]) -> v1beta1.AllocateResponse:
    channel = Channel(path=str(settings.endpoint))
    try:
        return await v1beta1.DevicePluginStub(channel).allocate(
            v1beta1.AllocateRequest(
                container_requests=[
                    v1beta1.ContainerAllocateRequest(devices_ids=ids) for ids in requests
                ]
            )
        )
    finally:
        channel.close()


async def test_the_plugin_registers_and_the_kubelet_gets_its_devices(
    kubelet: KubeletDevicePlugins, settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path):
        await eventually(lambda: kubelet.devices.resources.get("contivpp.io/memif"))
        assert kubelet.registrations == ["contivpp.io/memif"]
        assert kubelet.devices.resources["contivpp.io/memif"] == dict.fromkeys(DEVICES, "Healthy")
        assert kubelet.devices.allocatable() == {"contivpp.io/memif": 5}


async def test_list_and_watch_sends_the_devices_and_sends_them_again(
    settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path):
        channel = Channel(path=str(settings.endpoint))
        try:
            stub = v1beta1.DevicePluginStub(channel)
            options = await stub.get_device_plugin_options(v1beta1.Empty())
            assert not options.pre_start_required
            received = []
            async for response in stub.list_and_watch(v1beta1.Empty()):
                received.append([(d.id, d.health) for d in response.devices])
                if len(received) == 2:
                    break
        finally:
            channel.close()
    assert received == [[(d, "Healthy") for d in DEVICES]] * 2


async def test_allocate_creates_a_directory_and_secret_per_container(
    settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path):
        response = await allocate(settings, [DEVICES[0], DEVICES[1]], [DEVICES[2]])

    first, second = response.container_responses
    for container in (first, second):
        secret = container.envs["MEMIF_SECRET"]
        assert len(secret) == 20
        assert container.envs["MEMIF_SOCKET"] == "/run/vpp/memif.sock"
        (mount,) = container.mounts
        host_dir = Path(mount.host_path)
        assert mount.container_path == "/run/vpp"
        assert host_dir.parent == settings.memif_dir
        assert mode_of(host_dir) == 0o700
        assert container.annotations == {
            "io.contivpp.memif.socket.host": str(host_dir / "memif.sock"),
            "io.contivpp.memif.socket.container": "/run/vpp/memif.sock",
            "io.contivpp.memif.secret": secret,
        }
    assert first.mounts[0].host_path != second.mounts[0].host_path
    assert first.envs["MEMIF_SECRET"] != second.envs["MEMIF_SECRET"]


async def test_allocate_of_a_device_the_plugin_does_not_have_is_refused_and_leaves_nothing(
    settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path) as memif:
        with pytest.raises(GRPCError) as refused:
            await allocate(settings, [DEVICES[0]], ["nvidia.com/gpu/0"])
        assert refused.value.status is Status.INVALID_ARGUMENT
        assert "nvidia.com/gpu/0" in str(refused.value.message)
        assert memif.allocations.allocations() == []
    assert list(settings.memif_dir.iterdir()) == []


async def test_allocations_survive_a_plugin_restart_which_registers_again(
    kubelet: KubeletDevicePlugins, settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path):
        response = await allocate(settings, [DEVICES[3]])
        await eventually(lambda: kubelet.registrations)
    secret = response.container_responses[0].envs["MEMIF_SECRET"]

    async with plugin(settings, tmp_path) as restarted:
        await eventually(lambda: len(kubelet.registrations) == 2)
        grant = restarted.allocations.grant_for([DEVICES[3]])
        assert grant is not None
        assert grant.secret == secret
        assert grant.host_socket.parent.is_dir()


async def test_released_devices_lose_their_directory(
    settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path) as memif:
        response = await allocate(settings, [DEVICES[0], DEVICES[1]])
        host_dir = Path(response.container_responses[0].mounts[0].host_path)
        grant = memif.allocations.grant_for([DEVICES[0], DEVICES[1]])
        assert grant is not None
        memif.allocations.release_grant(grant)
    assert not exists(host_dir)
    assert MemifAllocations(settings.memif_dir, tmp_path).load() == []


async def test_a_restarted_kubelet_gets_the_plugin_registered_again(
    settings: MemifPluginSettings, sockets: Path, tmp_path: Path
) -> None:
    first = KubeletDevicePlugins(settings.device_plugins_dir)
    async with plugin(settings, tmp_path) as memif:
        async with first:
            await eventually(lambda: first.devices.resources)
        second = KubeletDevicePlugins(settings.device_plugins_dir)
        async with second:  # clears the directory, as a starting kubelet does
            await eventually(lambda: second.devices.allocatable() == {"contivpp.io/memif": 5})
            assert second.registrations == ["contivpp.io/memif"]
            await eventually(lambda: memif.registrations == 2)


async def test_a_plugin_started_before_its_kubelet_registers_once_the_kubelet_is_there(
    settings: MemifPluginSettings, tmp_path: Path
) -> None:
    async with plugin(settings, tmp_path) as memif:
        assert memif.registrations == 0
        async with KubeletDevicePlugins(settings.device_plugins_dir) as late:
            await eventually(lambda: late.devices.resources)
            await eventually(lambda: memif.registrations == 1)


async def test_the_pod_lookup_gives_the_pods_grant_and_no_log_holds_a_secret(
    kubelet: KubeletDevicePlugins, settings: MemifPluginSettings, sockets: Path, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        async with plugin(settings, tmp_path) as memif:
            await eventually(lambda: kubelet.devices.allocatable())
            admitted = await kubelet.admit(memif_pod("cnf", 2, uid="u-1", containers=2))
            lookup = MemifPodLookup(
                memif.allocations, PodResourcesClient(sockets / "pod-resources.sock")
            )

            grant = await lookup.memif_allocation_of("default", "cnf")
            nothing = await lookup.memif_allocation_of("default", "other")
            await memif.stop()
            await memif.start()  # an agent restart: the allocations come back from disk
            again = await lookup.memif_allocation_of("default", "cnf")

    (container,) = admitted.grants
    assert grant is not None
    assert grant.count == 2
    assert grant.secret == container.envs["MEMIF_SECRET"]
    assert str(grant.host_socket) == container.annotations["io.contivpp.memif.socket.host"]
    assert nothing is None
    assert again == grant
    assert logs
    assert grant.secret not in repr(logs)


async def test_the_lookup_without_a_kubelet_says_which_socket_it_tried(
    settings: MemifPluginSettings, sockets: Path
) -> None:
    lookup = MemifPodLookup(
        MemifAllocations(settings.memif_dir, None), PodResourcesClient(sockets / "absent.sock")
    )
    with pytest.raises(PodResourcesUnavailable, match=r"absent\.sock"):
        await lookup.memif_allocation_of("default", "cnf")
