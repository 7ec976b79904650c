"""The compiled CNI plugin (contivpy/cni/native/contivpy_cni.c, installed by `contivpy
install-cni`) prints byte for byte what `contivpy cni` prints, and exits with its code, for
the same environment, stdin and agent: well-formed calls it makes itself, anything else it
hands to the Python plugin installed beside it.

The agents: the real RemoteCNI server with the test handler (a wired pod, the agent's own
errors, a hang), and a scripted HTTP/2 peer for what the real one never sends (gRPC statuses,
GOAWAY, resets, split and indexed header blocks, malformed replies).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contivpy import cni_install
from contivpy.api.cni_server import CniServer
from contivpy.cni.hpack_codec import encode_headers
from contivpy.cni.http2_frames import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PRIORITY_FLAG,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    frame,
)
from contivpy.cni.wire import encode_reply
from doubles.cni_handler import POD_ENV, Handler

pytestmark = pytest.mark.skipif(cni_install.compiler() is None, reason="no C compiler")

PYTHON_PLUGIN = [str(Path(sys.executable).parent / "contivpy"), "cni"]
ENV = {**POD_ENV, "PATH": "/usr/bin:/bin"}

Outcome = tuple[int, bytes]


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node's bin dir: the compiled plugin and its Python form (run by this interpreter)."""
    bin_dir = tmp_path_factory.mktemp("cni-bin")
    compiled = cni_install.build_compiled(tmp_path_factory.mktemp("build") / "contivpy")
    cni_install.install(bin_dir, interpreter=sys.executable, compiled=compiled)
    return bin_dir


async def run(command: list[str], env: dict[str, str], stdin: bytes) -> Outcome:
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert b"Traceback" not in err, err
    assert process.returncode is not None
    return process.returncode, out


async def both(
    plugin_dir: Path, command: str, config: dict[str, object] | bytes, **env: str
) -> tuple[Outcome, Outcome]:
    """(the compiled plugin's outcome, the Python plugin's) for one call."""
    environment = {**ENV, "CNI_COMMAND": command, **env}
    for name, value in env.items():
        if value == "<unset>":
            del environment[name]
    stdin = config if isinstance(config, bytes) else json.dumps(config).encode()
    compiled = await run([str(plugin_dir / "contivpy")], environment, stdin)
    python = await run(PYTHON_PLUGIN, environment, stdin)
    return compiled, python


def config(socket: Path | str, **keys: object) -> dict[str, object]:
    own = {"cniVersion": "1.0.0", "name": "k8s", "type": "contivpy", "grpcServer": str(socket)}
    return own | keys


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[tuple[Path, Handler]]:
    socket = tmp_path / "cni.sock"
    handler = Handler()
    async with CniServer(handler, socket):
        yield socket, handler


@pytest.mark.parametrize("version", ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
async def test_add_check_and_del_print_what_the_python_plugin_prints(
    plugin_dir: Path, agent: tuple[Path, Handler], version: str
) -> None:
    socket, handler = agent
    for command in ("ADD", "CHECK", "DEL"):
        compiled, python = await both(plugin_dir, command, config(socket, cniVersion=version))
        assert compiled == python, command
        assert compiled[0] == 0, compiled
    assert handler.wired == {}  # the DELs undid the ADDs
    compiled, _ = await both(plugin_dir, "ADD", config(socket, cniVersion=version))
    result = json.loads(compiled[1])
    assert result["ips"][0]["address"] == "10.1.1.2/32"
    assert ("version" in result["ips"][0]) == (version in ("0.3.0", "0.3.1", "0.4.0"))


async def test_the_agents_own_errors_are_printed_alike(
    plugin_dir: Path, agent: tuple[Path, Handler]
) -> None:
    socket, _ = agent
    exhausted = "K8S_POD_NAMESPACE=default;K8S_POD_NAME=exhausted"
    compiled, python = await both(plugin_dir, "ADD", config(socket), CNI_ARGS=exhausted)
    assert compiled == python
    assert json.loads(compiled[1])["code"] == 102
    compiled, python = await both(plugin_dir, "CHECK", config(socket), CNI_CONTAINERID="nope")
    assert compiled == python
    assert compiled[0] == 1


async def test_a_well_formed_call_runs_no_python(
    plugin_dir: Path, agent: tuple[Path, Handler], tmp_path: Path
) -> None:
    """Without its Python form beside it, the compiled plugin still networks a pod and
    answers VERSION; what it would hand over is a clear CNI error naming the missing file."""
    socket, _ = agent
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(plugin_dir / "contivpy", alone / "contivpy")
    env = {**ENV, "CNI_COMMAND": "ADD"}
    code, out = await run([str(alone / "contivpy")], env, json.dumps(config(socket)).encode())
    assert code == 0, out
    assert json.loads(out)["ips"][0]["address"] == "10.1.1.2/32"
    env["CNI_COMMAND"] = "VERSION"
    code, out = await run([str(alone / "contivpy")], env, b"")
    assert (code, json.loads(out)["cniVersion"]) == (0, "1.0.0")
    env["CNI_COMMAND"] = "ADD"
    code, out = await run([str(alone / "contivpy")], env, b"not json")
    error = json.loads(out)
    assert (code, error["code"]) == (1, 5)
    assert str(alone / "contivpy.pyz") in error["details"]


HANDED_OVER: list[tuple[str, dict[str, object] | bytes, dict[str, str]]] = [
    ("VERSION", {}, {}),
    ("FROB", {}, {}),
    ("ADD", {}, {"CNI_COMMAND": "<unset>"}),
    ("ADD", b"not json", {}),
    ("ADD", b"", {}),
    ("ADD", b"[1, 2]", {}),
    ("ADD", b'{"cniVersion": "1.0.0", "grpcServer": "/x", }', {}),
    ("ADD", {"timeoutSeconds": -1}, {}),
    ("ADD", {"timeoutSeconds": "abc"}, {}),
    ("ADD", {"timeoutSeconds": 0}, {}),
    ("ADD", {"timeoutSeconds": None}, {}),
    ("ADD", {"timeoutSeconds": True}, {}),
    ("ADD", b'{"cniVersion": "1.0.0", "timeoutSeconds": 1e400}', {}),
    ("ADD", b'{"cniVersion": "1.0.0", "timeoutSeconds": NaN}', {}),
    ("ADD", {"timeoutSeconds": 1e10}, {}),  # past what Python's socket timeout holds
    ("ADD", {"grpcServer": 5}, {}),
    ("ADD", {"grpcServer": ""}, {}),
    ("ADD", {"grpcServer": None}, {}),  # the default socket, absent here
    ("ADD", {"grpcServer": "/nonexistent/cni.sock"}, {}),
    ("ADD", {"grpcServer": "/" + "x" * 200}, {}),
    ("ADD", {"cniVersion": "9.9.9"}, {}),
    ("ADD", {"cniVersion": 1}, {}),
    ("ADD", {"prevResult": {}}, {}),
    ("ADD", {"simulatedNetns": "yes"}, {}),
    ("ADD", {"name": "café"}, {}),
    ("ADD", {}, {"CNI_CONTAINERID": ""}),
    ("ADD", {}, {"CNI_NETNS": "<unset>"}),
    ("ADD", {}, {"CNI_NETNS": "/var/run/netns/nonexistent"}),
    ("CHECK", {}, {"CNI_NETNS": "/var/run/netns/nonexistent"}),
    ("ADD", {}, {"CNI_ARGS": "K8S_POD_NAMESPACE=default"}),
    ("ADD", {}, {"CNI_ARGS": "K8S_POD_NAME=web;K8S_POD_NAMESPACE= "}),
    ("ADD", {}, {"CNI_ARGS": "garbage;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default"}),
    ("ADD", {}, {"CNI_ARGS": "=x;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default"}),
]


@pytest.mark.parametrize(("command", "keys", "env"), HANDED_OVER)
async def test_what_it_does_not_call_with_is_answered_as_the_python_plugin_answers(
    plugin_dir: Path,
    agent: tuple[Path, Handler],
    command: str,
    keys: dict[str, object] | bytes,
    env: dict[str, str],
) -> None:
    socket, handler = agent
    stdin = keys if isinstance(keys, bytes) else config(socket) | keys
    compiled, python = await both(plugin_dir, command, stdin, **env)
    assert compiled == python
    assert handler.wired == {} or command != "ADD" or compiled[0] == 0


@pytest.mark.parametrize(
    ("keys", "env"),
    [
        ({"prevResult": {"cniVersion": "1.0.0"}}, {"CNI_COMMAND": "DEL"}),
        ({"simulatedNetns": True}, {"CNI_NETNS": "/var/run/netns/simulated"}),
        ({"simulatedNetns": False, "timeoutSeconds": 5}, {}),
        ({"timeoutSeconds": 2.5}, {}),
        ({}, {"CNI_IFNAME": ""}),
        ({}, {"CNI_ARGS": " K8S_POD_NAMESPACE = default ; ;K8S_POD_NAME=web\t"}),
        ({"nested": {"a": [1, 2.5e3, -0.0, True, None, "\\u00e9"]}}, {}),
    ],
)
async def test_unusual_but_valid_calls_are_answered_alike(
    plugin_dir: Path, agent: tuple[Path, Handler], keys: dict[str, object], env: dict[str, str]
) -> None:
    socket, _ = agent
    command = env.pop("CNI_COMMAND", "ADD")
    compiled, python = await both(plugin_dir, command, config(socket) | keys, **env)
    assert compiled == python


async def test_an_agent_that_accepts_no_connection(plugin_dir: Path, tmp_path: Path) -> None:
    """A full backlog refuses a connection at once (EAGAIN), as Python's connect sees it;
    a blocking connect would wait for the agent however long it hangs."""
    path = tmp_path / "full.sock"
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as queued:
        server.bind(str(path))
        server.listen(0)
        queued.connect(str(path))  # the backlog of 0 holds this one, and no other
        compiled, python = await asyncio.wait_for(
            both(plugin_dir, "ADD", config(path, timeoutSeconds=1)), 30
        )
    assert compiled == python
    assert json.loads(compiled[1])["code"] == 100


async def test_an_integer_python_will_not_read_is_handed_over(
    plugin_dir: Path, agent: tuple[Path, Handler]
) -> None:
    """Python's int limit (4300 digits by default) makes such a configuration no JSON."""
    socket, handler = agent
    text = json.dumps(config(socket)).encode()[:-1] + b', "n": ' + b"1" * 4301 + b"}"
    compiled, python = await both(plugin_dir, "ADD", text)
    assert compiled == python
    assert json.loads(compiled[1])["code"] == 6
    assert handler.wired == {}


async def test_a_configuration_larger_than_a_window_is_handed_over(
    plugin_dir: Path, agent: tuple[Path, Handler]
) -> None:
    socket, handler = agent
    compiled, python = await both(plugin_dir, "ADD", config(socket, padding="x" * 70_000))
    assert compiled == python
    assert compiled[0] == 0
    assert len(handler.wired) == 1


async def test_an_agent_that_does_not_answer_in_time(plugin_dir: Path, tmp_path: Path) -> None:
    socket = tmp_path / "cni.sock"
    async with CniServer(Handler(hang=True), socket):
        compiled, python = await both(plugin_dir, "ADD", config(socket, timeoutSeconds=0.3))
    assert compiled == python
    assert json.loads(compiled[1])["code"] == 11


# ---- a scripted HTTP/2 peer ----


def grpc_message(message: bytes, flag: int = 0) -> bytes:
    return bytes((flag,)) + len(message).to_bytes(4) + message


def response(
    message: bytes, *, status: str = "0", flag: int = 0, trailers: list[tuple[str, str]] | None
) -> bytes:
    head = encode_headers([(":status", "200"), ("content-type", "application/grpc")])
    tail = encode_headers(trailers if trailers is not None else [("grpc-status", status)])
    return (
        frame(SETTINGS, 0, 0)
        + frame(HEADERS, END_HEADERS, 1, head)
        + frame(DATA, 0, 1, grpc_message(message, flag))
        + frame(HEADERS, END_HEADERS | END_STREAM, 1, tail)
    )


def trailers_only(headers: list[tuple[str, str]]) -> bytes:
    return frame(SETTINGS, 0, 0) + frame(
        HEADERS, END_HEADERS | END_STREAM, 1, encode_headers(headers)
    )


RICH = encode_reply(
    {
        "interfaces": [
            {"name": "eth0", "mac": "02:fe:00:00:00:01", "sandbox": "/var/run/netns/x"},
            {"name": "tap1-é", "mac": "", "sandbox": ""},
            {"name": 'q"\\\n\x01𝄞', "mac": "02:fe:00:00:00:02", "sandbox": "/ns"},
        ],
        "ips": [
            {"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0},
            {"address": "fd00::2/128", "gateway": "", "interface": 1},
            {"address": "10.1.1.3/32", "gateway": "", "interface": 1},
        ],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.1.1"}, {"dst": "10.96.0.0/12", "gw": ""}],
    }
)


def split_headers() -> bytes:
    head = encode_headers([(":status", "200"), ("content-type", "application/grpc")])
    padded = bytes((3,)) + grpc_message(RICH) + b"\0\0\0"
    return (
        frame(SETTINGS, 0, 0)
        + frame(HEADERS, 0, 1, head[:2])
        + frame(CONTINUATION, END_HEADERS, 1, head[2:])
        + frame(DATA, PADDED, 1, padded)
        + frame(HEADERS, END_HEADERS | END_STREAM, 1, encode_headers([("grpc-status", "0")]))
    )


def indexed_headers() -> bytes:
    """Headers added to the dynamic table in the first block, referred to by index after."""
    literal = bytes((0x40 | 31, 16)) + b"application/grpc"  # content-type, incremental
    literal += bytes((0x40, 11)) + b"grpc-status" + bytes((1,)) + b"0"  # a new name
    head = encode_headers([(":status", "200")]) + literal
    return (
        frame(SETTINGS, 0, 0)
        + frame(HEADERS, END_HEADERS, 1, head)
        + frame(DATA, 0, 1, grpc_message(RICH))
        + frame(HEADERS, END_HEADERS | END_STREAM, 1, bytes((0x80 | 62,)))  # grpc-status: 0
    )


def evicted_name() -> bytes:
    """A literal that names the dynamic entry it evicts (the table shrunk to hold one), then
    the trailers refer to the entry it added."""
    literal = bytes((0x40, 11)) + b"grpc-status" + bytes((1,)) + b"0"  # 44 octets
    again = bytes((0x40 | 62, 1)) + b"0"  # grpc-status by index: evicts entry 62 itself
    head = (
        bytes((0x20 | 31, 50 - 31))  # a table of 50 octets
        + encode_headers([(":status", "200"), ("content-type", "application/grpc")])
        + literal
        + again
    )
    return (
        frame(SETTINGS, 0, 0)
        + frame(HEADERS, END_HEADERS, 1, head)
        + frame(DATA, 0, 1, grpc_message(RICH))
        + frame(HEADERS, END_HEADERS | END_STREAM, 1, bytes((0x80 | 62,)))  # grpc-status: 0
    )


SCRIPTS: dict[str, bytes] = {
    "rich": frame(PING, 0, 0, b"12345678") + response(RICH, trailers=None),
    "split-and-padded": split_headers(),
    "dynamic-table": indexed_headers(),
    "status-internal": trailers_only(
        [(":status", "200"), ("grpc-status", "13"), ("grpc-message", "it%20broke %zz")]
    ),
    "status-deadline": trailers_only([(":status", "200"), ("grpc-status", "4")]),
    "status-unknown-code": trailers_only([(":status", "200"), ("grpc-status", "99")]),
    "status-not-a-number": trailers_only([(":status", "200"), ("grpc-status", "x")]),
    "http-404": trailers_only([(":status", "404")]),
    "no-grpc-status": response(RICH, trailers=[("x", "y")]),
    "wrong-content-type": frame(SETTINGS, 0, 0)
    + frame(
        HEADERS,
        END_HEADERS,
        1,
        encode_headers([(":status", "200"), ("content-type", "text/plain")]),
    )
    + frame(DATA, 0, 1, grpc_message(RICH))
    + frame(HEADERS, END_HEADERS | END_STREAM, 1, encode_headers([("grpc-status", "0")])),
    "compressed": response(RICH, flag=1, trailers=None),
    "two-messages": response(RICH + grpc_message(RICH), trailers=None),
    "bad-wire-type": response(b"\x0b", trailers=None),
    "truncated": response(b"\x1a\x05ab", trailers=None),
    "not-utf8": response(b"\x1a\x03\x0a\x01\xff", trailers=None),
    "error-no-text": response(b"\x08\x01", trailers=None),
    "error-with-code": response(b"\x08\x01\x12\x04nope\x30\x07", trailers=None),
    "goaway-unanswered": frame(SETTINGS, 0, 0) + frame(GOAWAY, 0, 0, bytes(8)),
    "goaway-error": frame(SETTINGS, 0, 0)
    + frame(GOAWAY, 0, 0, (1).to_bytes(4) + (2).to_bytes(4) + b"bye"),
    "reset": frame(SETTINGS, 0, 0) + frame(RST_STREAM, 0, 1, (8).to_bytes(4)),
    "reset-unknown-code": frame(SETTINGS, 0, 0) + frame(RST_STREAM, 0, 1, (77).to_bytes(4)),
    "closed": b"",
    "data-first": frame(SETTINGS, 0, 0) + frame(DATA, 0, 1, b"x"),
    "too-large-frame": b"\x00\x50\x00" + bytes((DATA, 0)) + (1).to_bytes(4),
    "evicted-name": evicted_name(),
    "short-window-update": frame(SETTINGS, 0, 0) + frame(WINDOW_UPDATE, 0, 0, b"\0\0"),
    "short-priority": frame(SETTINGS, 0, 0)
    + frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 1, b"\0\0\0")
    + frame(DATA, END_STREAM, 1, b""),
    "goaway-long-debug": frame(SETTINGS, 0, 0) + frame(GOAWAY, 0, 0, bytes(8) + b"d" * 2000),
    "not-utf8-at-the-end": response(b"\x12\x03a\xe2\x82", trailers=None),
    "not-utf8-continuation": response(b"\x12\x03\xe2\x82a", trailers=None),
    "not-utf8-surrogate": response(b"\x1a\x05\x0a\x03\xed\xa0\x80", trailers=None),
    "status-latin-1-message": trailers_only(
        [(":status", "200"), ("grpc-status", "13"), ("grpc-message", "caf\xe9 \xc3\xa9")]
    ),
    "status-message-not-utf8": trailers_only(
        [(":status", "200"), ("grpc-status", "13"), ("grpc-message", "\xe2\x82%41\xff")]
    ),
    "goaway-utf8-debug": frame(SETTINGS, 0, 0)
    + frame(GOAWAY, 0, 0, bytes(8) + "café ".encode() + b"\xe2\x82!\xf0\x90\x80"),
    "error-empty-ip": response(b"\x1a\x02\x22\x00", trailers=None),
}


async def scripted_peer(socket: Path, answer: bytes) -> asyncio.AbstractServer:
    """A unix server that reads a client's request, then sends ``answer`` and keeps the
    connection until the client closes it (no answer: it closes the connection itself)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = b""
        while b"\x00\x01\x00\x00\x00\x01" not in received:  # DATA's END_STREAM, stream 1
            chunk = await reader.read(65536)
            if not chunk:
                break
            received += chunk
        if answer:
            writer.write(answer)
            while await reader.read(65536):
                pass
        writer.close()
        await writer.wait_closed()

    return await asyncio.start_unix_server(serve, path=str(socket))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
async def test_replies_of_every_kind_are_printed_alike(
    plugin_dir: Path, tmp_path: Path, script: str, version: str
) -> None:
    socket = tmp_path / "peer.sock"
    server = await scripted_peer(socket, SCRIPTS[script])
    async with server:
        compiled, python = await both(plugin_dir, "ADD", config(socket, cniVersion=version))
    assert compiled == python, script
    if script in ("rich", "split-and-padded", "dynamic-table"):
        assert compiled[0] == 0
        assert len(json.loads(compiled[1])["interfaces"]) == 3


# ---- generated calls ----

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(-1, 100) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
OWN_KEYS = st.sampled_from(
    ["cniVersion", "prevResult", "grpcServer", "timeoutSeconds", "simulatedNetns", "other"]
)
ARGS = st.lists(
    st.sampled_from(["K8S_POD_NAME=web", "K8S_POD_NAMESPACE=default", "x", "=", " ", "a=b", ""]),
    max_size=5,
).map(";".join)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(keys=st.dictionaries(OWN_KEYS, JSON_VALUES, max_size=4), args=ARGS)
def test_generated_calls_are_answered_alike(
    plugin_dir: Path, tmp_path: Path, keys: dict[str, object], args: str
) -> None:
    """Whatever the configuration's own keys hold and CNI_ARGS says, against a live agent.
    (A timeout of a few seconds or less could run out for one plugin and not the other: the
    agent shares this process's CPU; a deadline's own case is tested above.)"""
    timeout = keys.get("timeoutSeconds")
    short = isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 < timeout < 5
    assume(not short)

    async def scenario() -> tuple[Outcome, Outcome]:
        socket = tmp_path / "gen.sock"
        async with CniServer(Handler(), socket):
            return await both(plugin_dir, "ADD", config(socket) | keys, CNI_ARGS=args)

    compiled, python = asyncio.run(scenario())
    assert compiled == python


def test_install_cni_writes_both_forms_and_the_conflist(tmp_path: Path) -> None:
    """`contivpy install-cni` as a node's operator types it."""
    conflist = Path(__file__).resolve().parents[2] / "deploy" / "10-contivpy.conflist"
    command = [
        str(Path(sys.executable).parent / "contivpy"),
        "install-cni",
        "--bin-dir",
        str(tmp_path / "bin"),
        "--net-dir",
        str(tmp_path / "net.d"),
        "--conflist",
        str(conflist),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "compiled" in done.stdout
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["contivpy", "contivpy.pyz"]
    assert (tmp_path / "bin" / "contivpy").read_bytes()[:4] == b"\x7fELF"
    assert os.access(tmp_path / "bin" / "contivpy", os.X_OK)
    assert (tmp_path / "net.d" / "10-contivpy.conflist").read_text() == conflist.read_text()
    done = subprocess.run([*command, "--python-only"], capture_output=True, text=True, check=True)
    assert "Python only" in done.stdout
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["contivpy"]
    assert (tmp_path / "bin" / "contivpy").read_bytes().startswith(b"#!/usr/bin/env python3\n")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--compiled", "/nonexistent/contivpy"], "/nonexistent/contivpy does not exist"),
        (["--conflist", "deploy/10-contivpy.conflist"], "needs the network configuration"),
    ],
)
def test_install_cni_refuses_clearly(tmp_path: Path, extra: list[str], says: str) -> None:
    command = [
        str(Path(sys.executable).parent / "contivpy"),
        "install-cni",
        "--bin-dir",
        str(tmp_path / "bin"),
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_the_plugin_compiles_without_a_warning(tmp_path: Path) -> None:
    cc = cni_install.compiler()
    assert cc is not None
    command = [cc, *cni_install.COMPILE_FLAGS, "-Werror", "-Wshadow", "-o", str(tmp_path / "p")]
    done = subprocess.run(
        [*command, str(cni_install.SOURCE), "-lm"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_build_without_a_compiler_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "no-such-compiler")
    assert cni_install.compiler() is None
    with pytest.raises(cni_install.InstallError, match="no C compiler"):
        cni_install.build_compiled(tmp_path / "contivpy")
