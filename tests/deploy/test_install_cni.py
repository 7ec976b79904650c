"""deploy/kubernetes/install-cni.sh, the agent DaemonSet's init container, run here against
temporary host directories: it installs the conflist and a CNI plugin that runs with nothing
but a Python interpreter (no contivpy installed: ``-I -S``, no site-packages), and that plugin
networks a pod through the agent's RemoteCNI socket, and says so when the agent is away."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from contivpy.api.cni_server import CniServer
from doubles.cni_handler import Handler

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kubernetes" / "install-cni.sh"
CONFLIST = ROOT / "deploy" / "10-contivpy.conflist"
POD_ENV = {
    "CNI_CONTAINERID": "c0ffee",
    "CNI_NETNS": "/proc/self/ns/net",  # a network namespace that exists
    "CNI_IFNAME": "eth0",
    "CNI_PATH": "/opt/cni/bin",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
}


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """The node's /opt/cni/bin and /etc/cni/net.d (under tmp_path), after the install."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        CNI_BIN_DIR=str(tmp_path / "opt/cni/bin"),
        CNI_NET_DIR=str(tmp_path / "etc/cni/net.d"),
        CONFLIST=str(CONFLIST),
    )
    subprocess.run(["/bin/sh", str(SCRIPT)], check=True, env=env, capture_output=True)
    return tmp_path


def plugin_config(host: Path, socket: Path) -> str:
    """What a container runtime passes the first plugin of the installed conflist."""
    conflist = json.loads((host / "etc/cni/net.d/10-contivpy.conflist").read_text())
    first = conflist["plugins"][0]
    assert (first["type"], first["grpcServer"]) == ("contivpy", "/run/contivpy/cni.sock")
    config = {**first, "cniVersion": conflist["cniVersion"], "name": conflist["name"]}
    return json.dumps({**config, "grpcServer": str(socket)})


async def run_plugin(host: Path, command: str, stdin: str) -> tuple[int, dict[str, object]]:
    plugin = host / "opt/cni/bin/contivpy"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",  # isolated: nothing from the environment or the working directory
        "-S",  # no site-packages: contivpy is not installed on a node
        str(plugin),
        env={**POD_ENV, "CNI_COMMAND": command, "PATH": "/usr/bin:/bin"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    assert b"Traceback" not in err, err
    assert process.returncode is not None
    return process.returncode, json.loads(out)


def test_the_files_are_installed_where_the_kubelet_looks(host: Path) -> None:
    plugin = host / "opt/cni/bin/contivpy"
    assert plugin.stat().st_mode & stat.S_IXUSR
    assert plugin.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    installed = host / "etc/cni/net.d/10-contivpy.conflist"
    assert installed.read_text() == CONFLIST.read_text()
    assert sorted(p.name for p in (host / "opt/cni/bin").iterdir()) == ["contivpy"]
    assert sorted(p.name for p in (host / "etc/cni/net.d").iterdir()) == ["10-contivpy.conflist"]


async def test_the_installed_plugin_networks_a_pod_through_the_agent(
    host: Path, tmp_path: Path
) -> None:
    socket = tmp_path / "cni.sock"
    handler = Handler()
    async with CniServer(handler, socket):
        code, result = await run_plugin(host, "ADD", plugin_config(host, socket))
    assert code == 0, result
    assert result["ips"] == [{"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0}]
    assert list(handler.wired) == ["c0ffee"]


async def test_the_installed_plugin_reports_an_absent_agent(host: Path, tmp_path: Path) -> None:
    socket = tmp_path / "absent.sock"
    code, result = await run_plugin(host, "ADD", plugin_config(host, socket))
    assert code == 1
    assert str(socket) in str(result["msg"])


def test_a_second_install_replaces_the_first(host: Path) -> None:
    """The init container runs again on every restart of the agent's pod."""
    conflist = host / "etc/cni/net.d/10-contivpy.conflist"
    conflist.write_text("stale")
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        CNI_BIN_DIR=str(host / "opt/cni/bin"),
        CNI_NET_DIR=str(host / "etc/cni/net.d"),
        CONFLIST=str(CONFLIST),
    )
    subprocess.run(["/bin/sh", str(SCRIPT)], check=True, env=env, capture_output=True)
    assert conflist.read_text() == CONFLIST.read_text()


async def test_the_installed_plugin_runs_from_compiled_modules(host: Path, tmp_path: Path) -> None:
    """zipimport cannot cache what it compiles: without the compiled modules in the archive,
    every exec of the plugin would compile its sources again. A copy of the archive without
    its sources still networks a pod, so this interpreter loads the compiled ones."""
    plugin = host / "opt/cni/bin/contivpy"
    with zipfile.ZipFile(plugin) as archive:
        names = archive.namelist()
        sources = [n for n in names if n.endswith(".py")]
        assert "contivpy/cni/plugin.py" in sources
        assert {n[:-3] + ".pyc" for n in sources} <= set(names)
        compiled_only = tmp_path / "compiled-only"
        with zipfile.ZipFile(compiled_only, "w") as copy:
            for name in names:
                if not name.endswith(".py"):
                    copy.writestr(name, archive.read(name))
    plugin.write_bytes(compiled_only.read_bytes())
    socket = tmp_path / "cni.sock"
    async with CniServer(Handler(), socket):
        code, result = await run_plugin(host, "ADD", plugin_config(host, socket))
    assert code == 0, result
