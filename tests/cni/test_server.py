"""The plugin's client and grpclib's against the agent's RemoteCNI server over a real unix
socket."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from grpclib.client import Channel

from contivpy._gen.contivpy.cni.v1 import CniReplyResult, RemoteCniStub
from contivpy._gen.contivpy.cni.v1 import CniRequest as CniRequestMessage
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


async def test_a_grpclib_client_many_calls_at_once_on_one_connection(tmp_path: Path) -> None:
    """Another gRPC implementation (grpclib on h2: HPACK with indexing and Huffman, streams
    multiplexed on one connection) against the server, with the generated classes."""
    handler = Handler()
    path = tmp_path / "cni.sock"
    async with CniServer(handler, path):
        channel = Channel(path=str(path))
        try:
            stub = RemoteCniStub(channel)

            def message(n: int) -> CniRequestMessage:
                return CniRequestMessage(
                    version="1.0.0",
                    container_id=f"c{n}",
                    network_namespace=f"/var/run/netns/p{n}",
                    interface_name="eth0",
                    extra_nw_config='{"cniVersion": "1.0.0"}',
                    extra_arguments=f"K8S_POD_NAMESPACE=default;K8S_POD_NAME=p{n}",
                )

            replies = await asyncio.gather(*(stub.add(message(n)) for n in range(30)))
            assert [r.interfaces[0].sandbox for r in replies] == [
                f"/var/run/netns/p{n}" for n in range(30)
            ]
            assert {r.interfaces[0].ip_addresses[0].address for r in replies} == {"10.1.1.2/32"}
            assert sorted(handler.wired) == sorted(f"c{n}" for n in range(30))
            refused = await stub.add(
                CniRequestMessage(container_id="c9", extra_arguments="K8S_POD_NAME=x")
            )
            assert (refused.result, refused.error_code) == (CniReplyResult.ERROR, 4)
            assert "K8S_POD_NAMESPACE" in refused.error
            ok = await stub.delete(message(0))
            assert (ok.result, ok.error) == (CniReplyResult.OK, "")
            assert "c0" not in handler.wired
        finally:
            channel.close()


async def test_a_client_that_breaks_the_protocol_loses_only_its_connection(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cni.sock"
    async with CniServer(Handler(), path):
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)  # until the server closes
        writer.close()
        # our SETTINGS, our WINDOW_UPDATE, then GOAWAY PROTOCOL_ERROR
        goaway = answer[-(9 + 8 + len("not the HTTP/2 client preface")) :]
        assert (goaway[3], goaway[13:17]) == (7, (1).to_bytes(4))
        result = await call_agent(str(path), "add", request(), 5)
        assert result.ips[0].address == "10.1.1.2/32"
