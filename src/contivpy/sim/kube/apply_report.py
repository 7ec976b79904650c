"""Apply manifests and report each object's outcome as ``kubectl apply`` does; shared by
``contivpy sim kube apply`` and ``contivpy demo -f``.

In: manifest paths (read first, by ``read_manifests``) and the URL of a Kubernetes API server.
Out: an ``ApplyReport``: one line per object in order (``pod/web -n demo created``,
``... configured``, ``... unchanged``, or ``... failed: <the server's message>``, which names
the object and the field), and a one-line summary. An object the server refuses (invalid, or
of a kind it does not serve) fails alone: the others are still applied.

A file that is missing, unreadable or not YAML is the user's mistake, not an object's:
``read_manifests`` raises ``ManifestError`` naming the file (and the line), before anything is
sent, so the caller can refuse the whole command as a usage error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contivpy.sim.kube.http_client import ApplyResult, apply_objects
from contivpy.sim.kube.manifests import load_manifest_files
from contivpy.sim.kube.objects import JsonObject


def read_manifests(paths: Sequence[Path]) -> list[JsonObject]:
    """The objects of the files (or directories) in apply order; ``ManifestError`` names the
    file (and line) that is missing, unreadable or not a manifest."""
    return load_manifest_files(paths)


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What became of each object, in the order they were applied."""

    results: tuple[ApplyResult, ...]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> list[ApplyResult]:
        return [result for result in self.results if not result.ok]

    def lines(self) -> list[str]:
        """kubectl's line per object."""
        return [result.describe() for result in self.results]

    def summary(self) -> str:
        """One line: ``8 of 9 objects applied (6 created, 2 unchanged); 1 failed: <names>``."""
        counts = Counter(result.action for result in self.results if result.ok)
        done = sum(counts.values())
        parts = ", ".join(
            f"{counts[action]} {action}"
            for action in ("created", "configured", "unchanged")
            if counts[action]
        )
        text = f"{done} of {len(self.results)} objects applied"
        text += f" ({parts})" if parts else ""
        if self.failed:
            names = ", ".join(_name(result) for result in self.failed)
            text += f"; {len(self.failed)} failed: {names}"
        return text


def _name(result: ApplyResult) -> str:
    return result.describe().partition(f" {result.action}")[0]


async def apply_and_report(
    server_url: str, objects: Sequence[JsonObject], *, namespace: str = "default"
) -> ApplyReport:
    """Apply every object (a refused one does not stop the rest). ``ServerUnreachable`` when
    the server does not answer at all."""
    results = await apply_objects(server_url, objects, namespace=namespace, raise_on_error=False)
    return ApplyReport(tuple(results))
