"""deploy/kubernetes/ through a real kubectl: `kubectl apply --dry-run=server -f
deploy/kubernetes/` against the stand-in API server (`contivpy sim kube serve`), as
docs/INSTALL.md has it. kubectl validates each object against the server's OpenAPI, the
server admits every one, and a dry run stores nothing. Skips where kubectl is not installed
(Debian's kubernetes-client provides it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(kubeconfig.parent))
    return subprocess.run(
        [KUBECTL, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def shipped_objects() -> list[tuple[str, str]]:
    """(kind, name) of every object in deploy/kubernetes/."""
    return [
        (doc["kind"], doc["metadata"]["name"])
        for path in sorted(KUBE.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def test_kubectl_apply_dry_run_server_admits_every_manifest(standin_kubeconfig: Path) -> None:
    kubeconfig = standin_kubeconfig
    applied = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", "deploy/kubernetes/")
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.splitlines()
    for kind, name in shipped_objects():
        assert any(
            line.startswith((f"{kind.lower()}.", f"{kind.lower()}/"))
            for line in lines
            if f"/{name} " in line and line.endswith("(server dry run)")
        ), (kind, name, applied.stdout)
    stored = kubectl(
        kubeconfig, "get", "-n", "kube-system", "daemonsets,deployments,statefulsets,configmaps"
    )
    assert stored.returncode == 0, stored.stderr
    assert "contivpy" not in stored.stdout  # a dry run stores nothing
