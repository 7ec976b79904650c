"""Fixtures: the plugin's settings in a short socket directory and the stand-in kubelet's
device-plugin side serving there (the plugin's real gRPC peer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from contivpy.deviceplugin import MemifPluginSettings
from contivpy.sim.kube.device_plugins import KubeletDevicePlugins
from doubles.device_plugins import plugin_settings, socket_dir


@pytest.fixture
def sockets() -> Iterator[Path]:
    with socket_dir() as path:
        yield path


@pytest.fixture
def settings(sockets: Path) -> MemifPluginSettings:
    return plugin_settings(sockets)


@pytest.fixture
async def kubelet(
    settings: MemifPluginSettings, sockets: Path
) -> AsyncIterator[KubeletDevicePlugins]:
    async with KubeletDevicePlugins(
        settings.device_plugins_dir, sockets / "pod-resources.sock"
    ) as manager:
        yield manager
