"""The stand-in kubelet's CNI runner: a conf dir's plugin chain run as processes, as a
container runtime runs it; and ``sim kube serve --cni-node`` using it for one node's pods (the
real contivpy plugin and agent end to end: tests/deploy/test_compose_smoke)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from contivpy.sim.kube.cni_runner import CniFailure, CniRunner, CniSettings, bin_dirs
from contivpy.sim.kube.commands import serve_kube
from contivpy.sim.kube.http_client import RestClient
from contivpy.sim.kube.kubeconfig import server_from_kubeconfig
from contivpy.sim.kube.pod_network import PodNetworkFailure
from doubles.agent_nodes import eventually

# A plugin that logs what it was run with and answers as a first (or a chained) plugin would:
# the first one gives 10.1.1.<n>, a chained one passes its prevResult on, adding a route.
PLUGIN = f"""#!{sys.executable}
import json, os, pathlib, sys
config = json.load(sys.stdin)
log = pathlib.Path(os.environ["LOG"])
entry = {{"type": config["type"], "command": os.environ["CNI_COMMAND"], "config": config,
          "netns_exists": os.path.exists(os.environ["CNI_NETNS"]),
          "args": os.environ["CNI_ARGS"], "path": os.environ["CNI_PATH"]}}
with log.open("a") as f:
    f.write(json.dumps(entry) + "\\n")
if config.get("fail") == os.environ["CNI_COMMAND"]:
    json.dump({{"cniVersion": "1.0.0", "code": 11, "msg": "no luck"}}, sys.stdout)
    sys.exit(1)
if os.environ["CNI_COMMAND"] == "ADD":
    previous = config.get("prevResult")
    if previous is None:
        result = {{"cniVersion": "1.0.0", "ips": [{{"address": "10.1.1.7/32"}}], "routes": []}}
    else:
        result = dict(previous, routes=previous["routes"] + [{{"dst": config["type"]}}])
    json.dump(result, sys.stdout)
"""


def pod(**container: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "demo", "uid": "1234-5678-90ab-cdef"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", **container}]},
    }


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CniSettings:
    monkeypatch.setenv("LOG", str(tmp_path / "log"))
    for directory in ("conf", "bin", "more-bin"):
        (tmp_path / directory).mkdir()
    for name, where in (("first", "bin"), ("second", "more-bin")):
        (tmp_path / where / name).write_text(PLUGIN)
        (tmp_path / where / name).chmod(0o755)
    return CniSettings(
        conf_dir=tmp_path / "conf",
        bin_dirs=bin_dirs(f"{tmp_path / 'bin'}:{tmp_path / 'more-bin'}"),
        netns_dir=tmp_path / "netns",
    )


def conflist(settings: CniSettings, *plugins: dict[str, Any], name: str = "10-net") -> None:
    document = {"cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": list(plugins)}
    (settings.conf_dir / f"{name}.conflist").write_text(json.dumps(document))


def calls(settings: CniSettings) -> list[dict[str, Any]]:
    log = settings.conf_dir.parent / "log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


async def test_add_runs_the_chain_in_order_with_prev_results(node: CniSettings) -> None:
    conflist(node, {"type": "first", "grpcServer": "/x"}, {"type": "second"})
    runner = CniRunner(node)

    assert await runner.add(pod()) == ["10.1.1.7"]
    first, second = calls(node)
    assert [first["type"], second["type"]] == ["first", "second"]
    assert first["config"]["name"] == "k8s-pod-network"
    assert first["config"]["grpcServer"] == "/x"
    assert "prevResult" not in first["config"]
    assert second["config"]["prevResult"]["ips"] == [{"address": "10.1.1.7/32"}]
    assert first["netns_exists"]
    assert second["netns_exists"]
    assert "K8S_POD_NAMESPACE=demo;K8S_POD_NAME=web" in first["args"]
    assert first["path"] == ":".join(str(d) for d in node.bin_dirs)

    await runner.delete(pod())
    deletes = calls(node)[2:]
    assert [c["type"] for c in deletes] == ["second", "first"]
    assert deletes[0]["config"]["prevResult"]["routes"] == [{"dst": "second"}]
    assert not runner.netns_path(pod()).exists()


async def test_the_first_config_file_by_name_is_the_network(node: CniSettings) -> None:
    conflist(node, {"type": "missing"}, name="20-other")
    conflist(node, {"type": "first"}, name="10-net")
    assert await CniRunner(node).add(pod()) == ["10.1.1.7"]


async def test_a_failing_plugin_is_the_pods_failure_and_is_undone(node: CniSettings) -> None:
    conflist(node, {"type": "first"}, {"type": "second", "fail": "ADD"})
    runner = CniRunner(node)

    result = await runner.add(pod())

    assert isinstance(result, PodNetworkFailure)
    assert "plugin type='second' failed (add): CNI error 11: no luck" in result.message
    assert [(c["type"], c["command"]) for c in calls(node)][2:] == [
        ("second", "DEL"),
        ("first", "DEL"),
    ]
    assert not runner.netns_path(pod()).exists()


async def test_a_plugin_not_in_the_bin_dirs_fails_naming_it(node: CniSettings) -> None:
    conflist(node, {"type": "first"}, {"type": "portmap"})
    result = await CniRunner(node).add(pod())
    assert isinstance(result, PodNetworkFailure)
    assert "failed to find plugin 'portmap'" in result.message


async def test_no_network_config_is_a_failure_not_a_crash(node: CniSettings) -> None:
    result = await CniRunner(node).add(pod())
    assert isinstance(result, PodNetworkFailure)
    assert f"no network config found in {node.conf_dir}" in result.message
    (node.conf_dir / "10-bad.conflist").write_text("{")
    result = await CniRunner(node).add(pod())
    assert isinstance(result, PodNetworkFailure)
    assert "10-bad.conflist: cannot read the network config" in result.message


async def test_port_mappings_go_to_plugins_with_the_capability(node: CniSettings) -> None:
    conflist(node, {"type": "first"}, {"type": "second", "capabilities": {"portMappings": True}})
    ports = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]
    await CniRunner(node).add(pod(ports=ports))
    first, second = calls(node)
    assert "runtimeConfig" not in first["config"]
    assert second["config"]["runtimeConfig"] == {
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    }
    assert "capabilities" not in second["config"]


async def test_a_failed_delete_names_the_plugin(node: CniSettings) -> None:
    conflist(node, {"type": "first", "fail": "DEL"})
    runner = CniRunner(node)
    await runner.add(pod())
    with pytest.raises(CniFailure, match="plugin type='first' failed \\(del\\)"):
        await runner.delete(pod())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pod_ip(rest: RestClient, name: str) -> str:
    async with asyncio.timeout(10):
        while True:
            found = await rest.request("GET", f"/api/v1/namespaces/default/pods/{name}")
            if found["status"].get("podIP"):
                return str(found["status"]["podIP"])
            await asyncio.sleep(0.02)


# A plugin that never answers (a hung CNI plugin); it leaves its pid beside the log.
HANGING = f"""#!{sys.executable}
import os, pathlib, time
pathlib.Path(os.environ["LOG"]).with_name("hanging.pid").write_text(str(os.getpid()))
time.sleep(600)
"""


async def test_a_cancelled_add_leaves_no_plugin_running(node: CniSettings) -> None:
    """The sandbox given up (its pod deleted, the stand-in stopping) cancels the ADD; the
    plugin must not outlive it."""
    hanging = node.bin_dirs[0] / "hang"
    hanging.write_text(HANGING)
    hanging.chmod(0o755)
    conflist(node, {"type": "hang"})
    pid_file = node.conf_dir.parent / "hanging.pid"
    add = asyncio.create_task(CniRunner(node).add(pod()))
    await eventually(pid_file.exists, within=60.0)  # the plugin runs
    pid = int(pid_file.read_text())
    add.cancel()
    with pytest.raises(asyncio.CancelledError):
        await add
    try:
        with pytest.raises(ProcessLookupError):  # killed and reaped: no such process
            os.kill(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def test_serve_runs_the_cni_for_its_cni_node_only(node: CniSettings, tmp_path: Path) -> None:
    """node-1's pods get the plugin's address, node-2's one from its podCIDR; the kubeconfig
    names the advertised URL, not the bind address."""
    conflist(node, {"type": "first"})
    kubeconfig = tmp_path / "kubeconfig"
    stop = asyncio.Event()
    port = _free_port()
    serving = asyncio.create_task(
        serve_kube(
            port=port,
            kubeconfig=kubeconfig,
            nodes=2,
            advertise_url="http://kube.example:6443",
            cni_node="node-1",
            cni=node,
            stop=stop,
        )
    )
    try:
        async with asyncio.timeout(10):
            while True:  # written once the server listens
                if kubeconfig.exists():
                    break
                await asyncio.sleep(0.01)
        assert server_from_kubeconfig(kubeconfig) == "http://kube.example:6443"
        async with RestClient(f"http://127.0.0.1:{port}") as rest:
            for name, where in (("on-cni", "node-1"), ("elsewhere", "node-2")):
                body = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name},
                    "spec": {"nodeName": where, "containers": [{"name": "c", "image": "x"}]},
                }
                await rest.request("POST", "/api/v1/namespaces/default/pods", body)
            assert await _pod_ip(rest, "on-cni") == "10.1.1.7"
            assert await _pod_ip(rest, "elsewhere") == "10.1.2.2"
        assert [c["type"] for c in calls(node)] == ["first"]
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def test_serve_refuses_a_cni_node_it_does_not_simulate(node: CniSettings) -> None:
    with pytest.raises(ValueError, match="--cni-node node-3: not one of the simulated nodes"):
        await serve_kube(port=0, nodes=2, cni_node="node-3", cni=node, stop=asyncio.Event())
