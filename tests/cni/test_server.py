"""The plugin's client against the agent's RemoteCNI server over a real unix socket."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from contivpy.api.cni_server import CniServer
from contivpy.cni.client import call_agent
from contivpy.cni.types import (
    CniCode,
    CniError,
    CniRequest,
    PodRef,
)
from doubles.cni_handler import Handler


def request(name: str = "web", args: str | None = None) -> CniRequest:
    pod = PodRef("default", name)
    cni_args = args if args is not None else f"K8S_POD_NAMESPACE=default;K8S_POD_NAME={name}"
    return CniRequest("c1", "/var/run/netns/x", "eth0", pod, args=cni_args)


async def test_round_trip_and_errors(tmp_path: Path) -> None:
    handler = Handler()
    path = tmp_path / "cni.sock"
    async with CniServer(handler, path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        result = await call_agent(str(path), "add", request(), 5)
        assert result.ips[0].address == "10.1.1.2/32"
        assert result.interfaces[0].sandbox == "/var/run/netns/x"
        assert (await call_agent(str(path), "check", request(), 5)).routes[0].gw == "10.1.1.1"
        await call_agent(str(path), "delete", request(), 5)
        assert handler.wired == {}
        with pytest.raises(CniError) as unknown:
            await call_agent(str(path), "check", request(), 5)
        assert unknown.value.code == CniCode.UNKNOWN_CONTAINER
        with pytest.raises(CniError) as exhausted:
            await call_agent(str(path), "add", request("exhausted"), 5)
        assert exhausted.value.code == CniCode.IP_EXHAUSTED
        # The server checks the arguments itself, whatever the client sent.
        with pytest.raises(CniError, match="K8S_POD_NAME") as bad:
            await call_agent(str(path), "add", request(args="K8S_POD_NAMESPACE=default"), 5)
        assert bad.value.code == CniCode.INVALID_ENVIRONMENT
    assert not path.exists()
