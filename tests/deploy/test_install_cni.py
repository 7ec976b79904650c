"""deploy/kubernetes/install-cni.sh, the agent DaemonSet's init container, run here against
temporary host directories: it installs the conflist and a CNI plugin that runs with nothing
but a Python interpreter (no contivpy installed: ``-I -S``, no site-packages), and that plugin
networks a pod through the agent's RemoteCNI socket, and says so when the agent is away.
With the image's compiled plugin ($COMPILED), that is the kubelet's ``contivpy``, with the
Python plugin beside it for what it hands over (the host's python3 runs it)."""

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

from contivpy import cni_install
from contivpy.api.cni_server import CniServer
from doubles.cni_handler import POD_ENV, Handler

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kubernetes" / "install-cni.sh"
CONFLIST = ROOT / "deploy" / "10-contivpy.conflist"


def run_install(host: Path, compiled: Path) -> None:
    """The init container's script, the host's directories under ``host``."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        CNI_BIN_DIR=str(host / "opt/cni/bin"),
        CNI_NET_DIR=str(host / "etc/cni/net.d"),
        CONFLIST=str(CONFLIST),
        COMPILED=str(compiled),
    )
    subprocess.run(["/bin/sh", str(SCRIPT)], check=True, env=env, capture_output=True)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """The node's /opt/cni/bin and /etc/cni/net.d (under tmp_path), after the install by an
    image built without the compiled plugin."""
    run_install(tmp_path, tmp_path / "no-compiled-plugin")
    return tmp_path


@pytest.fixture
def compiled_host(tmp_path: Path) -> Path:
    """The same with the image's compiled plugin."""
    if cni_install.compiler() is None:
        pytest.skip("no C compiler to build the compiled plugin")
    if not Path("/usr/bin/python3").exists():
        pytest.skip("the Python plugin it hands over to needs the host's /usr/bin/python3")
    run_install(tmp_path, cni_install.build_compiled(tmp_path / "image" / "contivpy-cni"))
    return tmp_path


def plugin_config(host: Path, socket: Path) -> str:
    """What a container runtime passes the first plugin of the installed conflist."""
    conflist = json.loads((host / "etc/cni/net.d/10-contivpy.conflist").read_text())
    first = conflist["plugins"][0]
    assert (first["type"], first["grpcServer"]) == ("contivpy", "/run/contivpy/cni.sock")
    config = {**first, "cniVersion": conflist["cniVersion"], "name": conflist["name"]}
    return json.dumps({**config, "grpcServer": str(socket)})


async def run_plugin(
    host: Path, command: str, stdin: str, *, compiled: bool = False
) -> tuple[int, dict[str, object]]:
    """The kubelet's exec of the installed plugin, with the host's PATH: the compiled one as
    it is; the Python one by this interpreter, isolated (nothing from the environment or the
    working directory) and without site-packages (contivpy is not installed on a node)."""
    plugin = str(host / "opt/cni/bin/contivpy")
    command_line = [plugin] if compiled else [sys.executable, "-I", "-S", plugin]
    process = await asyncio.create_subprocess_exec(
        *command_line,
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


FORMS = pytest.mark.parametrize("compiled", [False, True], ids=["python", "compiled"])


@FORMS
async def test_the_installed_plugin_networks_a_pod_through_the_agent(
    request: pytest.FixtureRequest, compiled: bool, tmp_path: Path
) -> None:
    host: Path = request.getfixturevalue("compiled_host" if compiled else "host")
    socket = tmp_path / "cni.sock"
    handler = Handler()
    async with CniServer(handler, socket):
        code, result = await run_plugin(host, "ADD", plugin_config(host, socket), compiled=compiled)
    assert code == 0, result
    assert result["ips"] == [{"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0}]
    assert list(handler.wired) == ["c0ffee"]


@FORMS
async def test_the_installed_plugin_reports_an_absent_agent(
    request: pytest.FixtureRequest, compiled: bool, tmp_path: Path
) -> None:
    """(The compiled plugin hands this over to its Python form, run by the host's python3.)"""
    host: Path = request.getfixturevalue("compiled_host" if compiled else "host")
    socket = tmp_path / "absent.sock"
    code, result = await run_plugin(host, "ADD", plugin_config(host, socket), compiled=compiled)
    assert (code, result["code"]) == (1, 100)  # the agent is unreachable
    assert str(socket) in str(result["msg"])


def test_a_second_install_replaces_the_first(host: Path) -> None:
    """The init container runs again on every restart of the agent's pod."""
    conflist = host / "etc/cni/net.d/10-contivpy.conflist"
    conflist.write_text("stale")
    run_install(host, host / "no-compiled-plugin")
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


def test_the_compiled_plugin_is_installed_with_its_python_form(compiled_host: Path) -> None:
    bin_dir = compiled_host / "opt/cni/bin"
    assert sorted(p.name for p in bin_dir.iterdir()) == ["contivpy", "contivpy.pyz"]
    assert (bin_dir / "contivpy").read_bytes()[:4] == b"\x7fELF"
    assert (bin_dir / "contivpy.pyz").read_bytes().startswith(b"#!/usr/bin/env python3\n")
    for plugin in bin_dir.iterdir():
        assert plugin.stat().st_mode & stat.S_IXUSR, plugin
