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
