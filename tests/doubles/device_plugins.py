"""Support for device-plugin tests: a short directory for unix sockets (a socket path is
limited to 107 bytes, and pytest's tmp_path can be long), the plugin's settings in it, a pod
asking for memif devices, and waiting on a condition."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from contivpy.deviceplugin import MemifPluginSettings


@contextlib.contextmanager
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dp-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def plugin_settings(base: Path, device_count: int = 5) -> MemifPluginSettings:
    """Fast re-sends and kubelet checks, so tests wait on conditions for little time."""
    return MemifPluginSettings(
        device_plugins_dir=base / "dp",
        memif_dir=base / "memif",
        device_count=device_count,
        resend_interval=0.05,
        watch_interval=0.02,
    )


def memif_pod(name: str, memifs: int | str, uid: str = "", containers: int = 1) -> dict[str, Any]:
    """A pod whose first container asks for ``memifs`` contivpp.io/memif devices."""
    specs: list[dict[str, Any]] = [
        {"name": f"c{index}", "image": "busybox"} for index in range(containers)
    ]
    specs[0]["resources"] = {"limits": {"contivpp.io/memif": memifs}}
    metadata = {"name": name, "namespace": "default", **({"uid": uid} if uid else {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": specs},
    }


async def eventually(condition: Callable[[], object], within: float = 10.0) -> None:
    """Poll until ``condition()`` is truthy (state outside the test's control: a gRPC peer)."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {within} s")
