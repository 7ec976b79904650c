"""compose.yaml: no Docker engine here, so check what can be checked — every contivpy
service runs a command line the CLI accepts, every service has a healthcheck, the stand-in's
kubeconfig names a reachable address, and `docker compose config` accepts the file where the
CLI has compose (test_compose_smoke.py runs the services)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from contivpy.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_compose_commands_are_valid_contivpy_invocations() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    parser = build_parser()
    contivpy_services = [
        name for name, service in compose["services"].items() if "build" in service
    ]
    assert set(contivpy_services) == {"kube", "vpp", "reflector", "agent"}
    for name in contivpy_services:
        args = parser.parse_args(compose["services"][name]["command"])
        assert args.handler is not None, name
    for volume in compose["services"]["agent"]["volumes"]:
        host = volume.split(":")[0]
        if host.startswith("./"):
            assert (ROOT / host).exists(), host


def test_the_build_context_is_what_the_dockerfile_copies() -> None:
    """.dockerignore leaves everything out (.venv, .git, caches) but what deploy/Dockerfile
    copies, and each COPY source exists."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    kept = {rule[1:] for rule in rules if rule.startswith("!")}
    copied = []
    for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not a build stage's output
            copied += line.split()[1:-1]
    assert copied
    for source in copied:
        assert source in kept, source
        assert (ROOT / source).exists(), source
    assert not {".venv", ".git", "tests"} & kept


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"][0] == "CMD", name
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)


def test_the_stand_ins_kubeconfig_names_an_address_other_containers_reach() -> None:
    """Not the 0.0.0.0 it binds: its own service name and a port it exposes."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    command = compose["services"]["kube"]["command"]
    url = urlsplit(command[command.index("--advertise-url") + 1])
    assert url.hostname == "kube"
    assert str(url.port) in compose["services"]["kube"]["expose"]
    assert str(url.port) == command[command.index("--port") + 1]


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
