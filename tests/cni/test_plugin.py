"""The CNI plugin: spec behaviour on its own side, and errors instead of tracebacks."""

from __future__ import annotations

import io
import json
import socket as sock
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from contivpy.cni.plugin import format_result, run_cni

if TYPE_CHECKING:  # the wire's documents are types for the checker only
    from contivpy.cni.wire import Reply, Request

CONFIG = {"cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "contivpy"}
ENV = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c0ffee",
    "CNI_NETNS": "/proc/self/ns/net",  # a network namespace that exists
    "CNI_IFNAME": "eth0",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
}
RESULT: Reply = {
    "interfaces": [{"name": "eth0", "mac": "02:fe:00:00:00:01", "sandbox": "/var/run/netns/pod1"}],
    "ips": [{"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.1.1"}],
}


def run(
    env: dict[str, str],
    config: object,
    calls: list[tuple[str, Request]] | None = None,
    socket: str | None = None,
) -> tuple[int, dict[str, object]]:
    def fake(sock: str, method: str, request: Request, deadline: float) -> Reply:
        assert calls is not None
        calls.append((method, request))
        return RESULT

    stdin = io.StringIO(config if isinstance(config, str) else json.dumps(config))
    stdout = io.StringIO()
    code = run_cni(env, stdin, stdout, call=None if socket else fake)
    text = stdout.getvalue()
    return code, json.loads(text) if text else {}


def test_add_forwards_the_pod_and_prints_a_spec_result() -> None:
    calls: list[tuple[str, Request]] = []
    code, out = run(ENV, CONFIG, calls)
    assert code == 0
    method, request = calls[0]
    assert method == "add"
    assert request["args"] == ENV["CNI_ARGS"]  # the agent takes the pod's name from it
    assert (request["container_id"], request["ifname"]) == ("c0ffee", "eth0")
    assert request["netns"] == "/proc/self/ns/net"
    assert request["config"] == CONFIG
    assert out["ips"] == [{"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0}]
    assert out["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.1.1.1"}]


def test_old_spec_versions_get_ip_versions() -> None:
    assert format_result(RESULT, "0.3.1")["ips"][0]["version"] == "4"  # type: ignore[index]


def test_version_needs_no_agent() -> None:
    code, out = run({"CNI_COMMAND": "VERSION"}, "")
    assert code == 0
    assert "1.0.0" in out["supportedVersions"]  # type: ignore[operator]


def test_bad_input_gives_cni_errors() -> None:
    code, out = run({**ENV, "CNI_ARGS": "K8S_POD_NAMESPACE=default"}, CONFIG, [])
    assert (code, out["code"]) == (1, 4)
    assert "K8S_POD_NAME" in str(out["msg"])
    code, out = run({**ENV, "CNI_NETNS": ""}, CONFIG, [])
    assert (code, out["code"]) == (1, 4)
    code, out = run(ENV, "{not json", [])
    assert (code, out["code"]) == (1, 6)
    code, out = run(ENV, {**CONFIG, "cniVersion": "9.9.9"}, [])
    assert (code, out["code"]) == (1, 1)


def test_delete_without_netns_is_allowed() -> None:
    calls: list[tuple[str, Request]] = []
    code, _ = run({**ENV, "CNI_COMMAND": "DEL", "CNI_NETNS": ""}, CONFIG, calls)
    assert code == 0
    assert calls[0][0] == "delete"


def test_agent_down_is_a_cni_error_not_a_traceback(tmp_path: Path) -> None:
    config = {**CONFIG, "grpcServer": str(tmp_path / "missing.sock"), "timeoutSeconds": 2}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from contivpy.cli import main; sys.exit(main(['cni']))",
        ],
        input=json.dumps(config),
        env={**ENV, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["code"] == 100
    assert "missing.sock" in out["msg"]
    assert "Traceback" not in proc.stderr


def test_add_and_check_need_the_netns_to_exist(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone")
    for command in ("ADD", "CHECK"):
        calls: list[tuple[str, Request]] = []
        code, out = run({**ENV, "CNI_COMMAND": command, "CNI_NETNS": missing}, CONFIG, calls)
        assert (code, out["code"]) == (1, 4), command
        assert str(out["msg"]) == f"CNI_NETNS: {missing} does not exist"
        assert calls == []  # the agent is not asked to wire a pod that has no namespace


def test_delete_of_a_netns_already_gone_reaches_the_agent(tmp_path: Path) -> None:
    calls: list[tuple[str, Request]] = []
    env = {**ENV, "CNI_COMMAND": "DEL", "CNI_NETNS": str(tmp_path / "gone")}
    code, _ = run(env, CONFIG, calls)
    assert code == 0
    assert [method for method, _ in calls] == ["delete"]


def test_simulated_pods_have_netns_names_only() -> None:
    calls: list[tuple[str, Request]] = []
    env = {**ENV, "CNI_NETNS": "/var/run/netns/cni-simulated"}
    code, out = run(env, {**CONFIG, "simulatedNetns": True}, calls)
    assert code == 0, out
    assert calls[0][1]["netns"] == "/var/run/netns/cni-simulated"


def test_bad_configuration_values_name_the_field() -> None:
    bad = [
        ("timeoutSeconds", -1),
        ("timeoutSeconds", 0),
        ("timeoutSeconds", "abc"),
        ("timeoutSeconds", "30"),
        ("timeoutSeconds", True),
        ("timeoutSeconds", None),
        ("timeoutSeconds", float("nan")),  # JSON's NaN and Infinity, as json reads them
        ("timeoutSeconds", float("inf")),
        ("grpcServer", 5),
        ("grpcServer", ["/run/contivpy/cni.sock"]),
        ("grpcServer", ""),
        ("simulatedNetns", "yes"),
    ]
    for key, value in bad:
        calls: list[tuple[str, Request]] = []
        code, out = run(ENV, {**CONFIG, key: value}, calls)
        assert (code, out["code"]) == (1, 7), (key, value)
        assert str(out["msg"]).startswith(f"{key}:"), out
        assert calls == []
    code, _ = run(ENV, {**CONFIG, "timeoutSeconds": 2.5, "grpcServer": "/x.sock"}, [])
    assert code == 0


PLUGIN = "import sys; from contivpy.cli import main; sys.exit(main(['cni']))"


def run_plugin_process(config: dict[str, object]) -> subprocess.CompletedProcess[str]:
    """`contivpy cni` as the kubelet runs it: its own process, env and stdin."""
    return subprocess.run(
        [sys.executable, "-c", PLUGIN],
        input=json.dumps(config),
        env={**ENV, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


DYING_AGENT = """
import asyncio, os, sys
from pathlib import Path
from contivpy.api.cni_server import CniServer

class Handler:  # the agent is killed while it handles the request
    async def add(self, request):
        os._exit(9)
    delete = check = add

async def main():
    async with CniServer(Handler(), Path(sys.argv[1])):
        await asyncio.sleep(60)

asyncio.run(main())
"""


def wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if path.exists() or process.poll() is not None:
            return
        time.sleep(0.05)


def assert_connection_lost(proc: subprocess.CompletedProcess[str], socket: Path) -> None:
    assert proc.returncode == 1, proc
    out = json.loads(proc.stdout)
    assert out["code"] == 11  # try again later: the agent restarts and the kubelet retries
    assert out["msg"] == "agent connection lost during ADD"
    assert str(socket) in out["details"]
    assert "Traceback" not in proc.stderr


def test_agent_killed_during_add_is_a_cni_error(tmp_path: Path) -> None:
    socket = tmp_path / "cni.sock"
    agent = subprocess.Popen([sys.executable, "-c", DYING_AGENT, str(socket)])
    try:
        wait_for(socket, agent)
        proc = run_plugin_process({**CONFIG, "grpcServer": str(socket), "timeoutSeconds": 30})
        assert agent.wait(timeout=30) == 9  # the agent did die mid-request
    finally:
        agent.kill()
        agent.wait()
    assert_connection_lost(proc, socket)


def test_agent_dropping_the_connection_at_once_is_a_cni_error(tmp_path: Path) -> None:
    # The agent accepts and is gone before the request is sent (grpclib then tripped over
    # its own closed transport: AttributeError).
    path = tmp_path / "cni.sock"
    server = sock.socket(sock.AF_UNIX)
    server.bind(str(path))
    server.listen()

    def drop() -> None:
        connection, _ = server.accept()
        connection.close()

    dropper = threading.Thread(target=drop)
    dropper.start()
    try:
        proc = run_plugin_process({**CONFIG, "grpcServer": str(path), "timeoutSeconds": 30})
    finally:
        dropper.join(timeout=30)
        server.close()
    assert_connection_lost(proc, path)


def test_agent_that_does_not_answer_is_try_again_later(tmp_path: Path) -> None:
    path = tmp_path / "cni.sock"
    server = sock.socket(sock.AF_UNIX)
    server.bind(str(path))
    server.listen()  # the kernel accepts; nobody answers
    try:
        proc = run_plugin_process({**CONFIG, "grpcServer": str(path), "timeoutSeconds": 0.5})
    finally:
        server.close()
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["code"] == 11
    assert "did not answer" in out["msg"]


LOADED = """
import io, sys
from contivpy.cli import main
sys.stdin = io.StringIO(sys.argv[1])
sys.stdout = io.StringIO()
main(["cni"])
heavy = ("argparse", "structlog", "betterproto2", "contivpy._gen", "contivpy.logs")
print(" ".join(m for m in sorted(sys.modules) if m.startswith(heavy)), file=sys.stderr)
client = ("asyncio", "grpclib", "h2", "hpack", "multidict", "logging")
# each a few ms of every pod's plugin start (contivpy.cni.plugin's docstring)
client += ("typing", "dataclasses", "enum", "json", "re", "inspect", "contextlib")
print(" ".join(m for m in sorted(sys.modules) if m.split(".")[0] in client), file=sys.stderr)
print(sys.stdout.getvalue().replace(chr(10), " "), file=sys.stderr)
"""

LIVE_AGENT = """
import asyncio, sys
from pathlib import Path
from contivpy.api.cni_server import CniServer
from contivpy.cni.types import CniInterface, CniIP, CniResult

class Handler:
    async def add(self, request):
        return CniResult((CniInterface("eth0", "02:fe:00:00:00:01", ""),),
                         (CniIP("10.1.1.2/32", "10.1.1.1", 0),), ())
    delete = check = add

async def main():
    async with CniServer(Handler(), Path(sys.argv[1])):
        await asyncio.sleep(60)

asyncio.run(main())
"""


def test_the_plugin_starts_without_what_it_does_not_use(tmp_path: Path) -> None:
    """The kubelet execs the plugin per pod: no parser, logging set-up or generated classes,
    its agent client is a blocking one: no asyncio, grpclib, h2, hpack or logging, and it
    loads none of the standard library's costlier modules."""
    live = tmp_path / "cni.sock"
    agent = subprocess.Popen([sys.executable, "-c", LIVE_AGENT, str(live)])
    try:
        wait_for(live, agent)
        for command, socket, answer in (
            ("VERSION", "missing.sock", "supportedVersions"),
            ("ADD", "missing.sock", '"code": 100'),
            ("ADD", "cni.sock", '"address": "10.1.1.2/32"'),
        ):
            config = json.dumps({**CONFIG, "grpcServer": str(tmp_path / socket)})
            proc = subprocess.run(
                [sys.executable, "-c", LOADED, config],
                env={**ENV, "CNI_COMMAND": command, "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            heavy, client, out = proc.stderr.splitlines()[-3:]
            assert heavy == "", (command, socket, heavy)
            assert client == "", (command, socket, client)
            assert answer in out, (command, socket, out)
    finally:
        agent.kill()
        agent.wait()
