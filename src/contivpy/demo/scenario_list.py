"""The demo's scenarios by name: their manifests and default node counts (no heavy imports:
the command line lists them; what each shows is ``demo/scenarios.py``).

In: a scenario name. Out: its ``Scenario`` (manifest files under ``examples/``, named like
the seeds' files, the default node count, a one-line description).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario: its manifests (under examples/) and its default node count."""

    name: str
    manifests: tuple[str, ...]
    nodes: int
    about: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("pods", ("demo-pods.yaml",), 2, "pods across nodes (seed 004)"),
        Scenario(
            "multi-if",
            ("multi-if-pod.yaml", "vnf-pod.yaml"),
            2,
            "multi-interface pods and a memif CNF (seed 001)",
        ),
        Scenario(
            "sfc-linux",
            ("cnfs-linux.yaml", "sfc-linux.yaml"),
            1,
            "two Linux CNFs chained over custom taps (seed 000)",
        ),
        Scenario(
            "sfc-vpp",
            ("cnfs-vpp.yaml", "sfc-vpp.yaml", "xconnect-vpp.yaml"),
            1,
            "three VPP CNFs chained over memifs (seed 000)",
        ),
        Scenario(
            "sfc-external",
            (
                "external-interfaces.yaml",
                "cnf-external-interfaces.yaml",
                "sfc-external-interfaces.yaml",
            ),
            1,
            "a VPP CNF between two VLANs of a NIC (seed 000)",
        ),
        Scenario(
            "custom-network",
            ("custom-network.yaml",),
            2,
            "two pods in an L3 CustomNetwork on two nodes (seed 002)",
        ),
        Scenario(
            "services",
            ("services.yaml",),
            2,
            "a NodePort Service on NAT44-ED, then a NetworkPolicy as ACLs (issue 15)",
        ),
    )
}


def manifests_of(scenario: str) -> tuple[Path, ...]:
    """The scenario's manifest files."""
    return tuple(EXAMPLES / name for name in SCENARIOS[scenario].manifests)
