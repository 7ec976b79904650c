"""`contivpy demo` and `contivpy sim kube apply` as users type them, given bad input: each object
reported as `kubectl apply` reports it, the valid ones applied anyway, a one-line summary and a
non-zero exit; usage errors in one line; no traceback; and no working directory left in $TMPDIR.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CONTIVPY = str(Path(sys.executable).with_name("contivpy"))

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: contivpp.io/v1
kind: ServiceFunctionChain
metadata: {name: chain1, namespace: default}
spec:
  chain:
    - {type: Pod, podSelector: {app: web}}
    - {type: Router}
---
apiVersion: v1
kind: Gadget
metadata: {name: g1}
"""


def contivpy(*args: str, tmpdir: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTIVPY, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )


@pytest.fixture
def tmpdir_() -> Iterator[Path]:
    """A $TMPDIR of the test's own, whatever the command leaves there is seen; short, as the
    demo's unix socket paths under it must be (pytest's tmp_path may be too long)."""
    directory = Path(tempfile.mkdtemp(prefix="cvt-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_a_rejected_object_and_an_unknown_kind_fail_alone(tmp_path: Path, tmpdir_: Path) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text(MANIFEST)
    done = contivpy("demo", "--nodes", "1", "-f", str(manifest), tmpdir=tmpdir_)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "Traceback" not in out + done.stderr
    lines = out.splitlines()
    assert "  pod/p1 -n default created" in lines
    failed = "  servicefunctionchain.contivpp.io/chain1 -n default failed: "
    (chain,) = [line for line in lines if line.startswith(failed)]
    assert 'spec.chain[1].type: Unsupported value: "Router"' in chain
    (gadget,) = [line for line in lines if line.startswith("  gadget/g1 failed: ")]
    assert '"Gadget"' in gadget
    assert " v1" in gadget
    # The valid pod was networked all the same; the last line says what failed.
    assert "p1" in out.split("== pods")[1]
    assert lines[-1].startswith("FAILED: 1 pod networked in ")
    assert lines[-1].endswith(
        " s; 1 of 3 objects applied (1 created); 2 failed: "
        "servicefunctionchain.contivpp.io/chain1 -n default, gadget/g1"
    )
    assert list(tmpdir_.iterdir()) == [], "the demo left its working directory behind"


def test_usage_errors_are_one_line_and_start_nothing(tmp_path: Path, tmpdir_: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [p1\n")
    missing = tmp_path / "missing.yaml"
    cases = [
        (("demo", "-f", str(broken)), f"contivpy demo: error: {broken}:4:1: not YAML: "),
        (("demo", "-f", str(missing)), f"contivpy demo: error: {missing}: no such file"),
        (("demo", "--nodes", "0"), "contivpy demo: error: argument --nodes: 0: "),
        (
            ("sim", "kube", "apply", "--server", "http://127.0.0.1:1", "-f", str(broken)),
            f"error: {broken}:4:1: not YAML: ",
        ),
    ]
    for args, message in cases:
        done = contivpy(*args, tmpdir=tmpdir_, timeout=60)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stdout == ""
        assert message in done.stderr.splitlines()[-1], done.stderr
        assert "Traceback" not in done.stderr
    assert list(tmpdir_.iterdir()) == []

    deep = tmpdir_ / ("d" * 100)
    deep.mkdir()
    done = contivpy("demo", tmpdir=deep, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "too long a path for the nodes' unix sockets" in done.stderr.splitlines()[-1]
    assert list(deep.iterdir()) == []


def test_etcd_too_slow_to_start_is_one_line_and_leaves_nothing(tmpdir_: Path) -> None:
    done = contivpy("demo", "--etcd-timeout", "0.001", tmpdir=tmpdir_, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (failure,) = [line for line in done.stderr.splitlines() if line.startswith("contivpy demo:")]
    assert failure.startswith("contivpy demo: the embedded etcd did not start: ")
    assert "--etcd-timeout 0.001" in failure
    assert list(tmpdir_.iterdir()) == []


@pytest.fixture
def served_kubeconfig(tmp_path: Path, tmpdir_: Path) -> Iterator[Path]:
    """`contivpy sim kube serve` running; its kubeconfig."""
    kubeconfig = tmp_path / "kubeconfig"
    server = subprocess.Popen(
        [CONTIVPY, "sim", "kube", "serve", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmpdir_)},
    )
    try:
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            assert server.poll() is None, "the stand-in exited"
            assert time.monotonic() < deadline, "the stand-in wrote no kubeconfig"
            time.sleep(0.05)
        yield kubeconfig
    finally:
        server.terminate()
        server.wait(10)


def test_sim_kube_apply_reports_the_same(
    served_kubeconfig: Path, tmp_path: Path, tmpdir_: Path
) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text(MANIFEST)
    args = ("sim", "kube", "apply", "--kubeconfig", str(served_kubeconfig), "-f", str(manifest))
    done = contivpy(*args, tmpdir=tmpdir_, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["pod/p1 -n default created"]
    errors = done.stderr.splitlines()
    assert errors[0].startswith("servicefunctionchain.contivpp.io/chain1 -n default failed: ")
    assert "spec.chain[1].type" in errors[0]
    assert errors[1].startswith("gadget/g1 failed: ")
    assert errors[2] == (
        "error: 1 of 3 objects applied (1 created); 2 failed: "
        "servicefunctionchain.contivpp.io/chain1 -n default, gadget/g1"
    )
    again = contivpy(*args, tmpdir=tmpdir_, timeout=60)
    assert again.stdout.splitlines() == ["pod/p1 -n default unchanged"]


def test_ctrl_c_while_starting_stops_everything_and_leaves_nothing(tmpdir_: Path) -> None:
    demo = subprocess.Popen(
        [CONTIVPY, "demo", "--nodes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmpdir_)},
    )
    assert demo.stdout is not None
    for line in demo.stdout:
        if line.startswith("working directory: "):  # the cluster is starting now
            break
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, out + err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "contivpy demo: interrupted; everything stopped"
    assert list(tmpdir_.iterdir()) == []
