"""compose.yaml: no Docker engine here, so check what can be checked — every contivpy
service runs a command line the CLI accepts, and the agent's config file loads."""

from __future__ import annotations

from pathlib import Path

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
        if line.startswith("COPY "):
            copied += line.split()[1:-1]
    assert copied
    for source in copied:
        assert source in kept, source
        assert (ROOT / source).exists(), source
    assert not {".venv", ".git", "tests"} & kept
