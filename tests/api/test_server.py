"""The debug API server on a real unix socket, and over TCP with TLS and client certificates."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grpclib import GRPCError, Status
from grpclib.client import Channel
from grpclib.const import Cardinality

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.ctl import ctl_main
from contivpy.api.server import DebugServer, DebugServerSettings, ServerTls
from contivpy.errors import ConfigError

from .scenario import B, FakeAgent


async def test_unix_socket_is_private_and_serves(unix_server: DebugServer) -> None:
    path = unix_server.socket_path
    assert path is not None
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    channel = Channel(path=str(path))
    try:
        status = await pb.AgentDebugStub(channel).status(pb.StatusRequest())
    finally:
        channel.close()
    assert status.agent is not None
    assert status.agent.node_name == "node-1"


async def test_bad_field_types_over_the_socket_are_invalid_arguments(
    unix_server: DebugServer,
) -> None:
    channel = Channel(path=str(unix_server.socket_path))
    try:
        async with channel.request(
            "/contivpy.agent.v1.AgentDebug/KeyTimeline",
            Cardinality.UNARY_UNARY,
            pb.StatusResponse,  # field 1 is a message where KeyTimeline has the string key
            pb.KeyTimelineResponse,
        ) as stream:
            await stream.send_message(
                pb.StatusResponse(agent=pb.AgentInfo(node_name="\xff")), end=True
            )
            with pytest.raises(GRPCError) as raised:
                await stream.recv_message()
    finally:
        channel.close()
    assert raised.value.status is Status.INVALID_ARGUMENT
    assert raised.value.message is not None
    assert raised.value.message.startswith("key: ")


async def test_socket_file_removed_on_stop(agent: FakeAgent, socket_dir: Path) -> None:
    path = socket_dir / "debug.sock"
    async with DebugServer(agent, DebugServerSettings(socket_path=path)):
        assert path.exists()
    assert not path.exists()


async def test_stale_socket_is_replaced(agent: FakeAgent, socket_dir: Path) -> None:
    path = socket_dir / "debug.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a crashed agent's socket
    assert path.exists()
    async with DebugServer(agent, DebugServerSettings(socket_path=path)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_live_socket_and_non_socket_are_never_overwritten(
    agent: FakeAgent, unix_server: DebugServer, socket_dir: Path
) -> None:
    live = unix_server.socket_path
    with pytest.raises(ConfigError, match="another process is listening"):
        await DebugServer(agent, DebugServerSettings(socket_path=live)).start()
    assert live is not None
    assert live.exists()
    regular = socket_dir / "not-a-socket"
    regular.write_text("keep me")
    with pytest.raises(ConfigError, match="not a socket"):
        await DebugServer(agent, DebugServerSettings(socket_path=regular)).start()
    assert regular.read_text() == "keep me"


def test_settings_are_checked(agent: FakeAgent) -> None:
    with pytest.raises(ConfigError, match="TCP needs TLS"):
        DebugServer(agent, DebugServerSettings(socket_path=None, tcp_host="127.0.0.1"))
    with pytest.raises(ConfigError, match="socket_path, tcp_host"):
        DebugServer(agent, DebugServerSettings(socket_path=None))


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture
async def tls_server(agent: FakeAgent, pki: Path) -> AsyncIterator[DebugServer]:
    tls = ServerTls(pki / "server.crt", pki / "server.key", client_ca_file=pki / "ca.crt")
    settings = DebugServerSettings(socket_path=None, tcp_host="127.0.0.1", tls=tls)
    async with DebugServer(agent, settings) as server:
        yield server


async def test_tcp_with_mutual_tls(tls_server: DebugServer, pki: Path, capsys: object) -> None:
    address = f"127.0.0.1:{tls_server.tcp_port}"
    ca = str(pki / "ca.crt")
    ok = [
        "--address", address, "--tls-ca", ca,
        "--tls-cert", str(pki / "client.crt"), "--tls-key", str(pki / "client.key"),
    ]  # fmt: skip
    assert await ctl_main([*ok, "--json", "dump", B]) == 0
    # Without a client certificate, or with one from another CA, the agent does not talk.
    stranger = ["--tls-cert", str(pki / "stranger.crt"), "--tls-key", str(pki / "stranger.key")]
    for extra in ([], stranger):
        assert await ctl_main(["--address", address, "--tls-ca", ca, *extra, "status"]) == 2
    # Nor does the client trust an agent whose certificate another CA signed.
    wrong_ca = ["--address", address, "--tls-ca", str(pki / "other-ca.crt"), "status"]
    assert await ctl_main(wrong_ca) == 2


async def test_unreadable_tls_files_are_config_errors(agent: FakeAgent, tmp_path: Path) -> None:
    tls = ServerTls(tmp_path / "missing.crt", tmp_path / "missing.key")
    settings = DebugServerSettings(socket_path=None, tcp_host="127.0.0.1", tls=tls)
    with pytest.raises(ConfigError, match=r"missing\.crt"):
        await DebugServer(agent, settings).start()
