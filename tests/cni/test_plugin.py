"""The CNI plugin: spec behaviour on its own side, and errors instead of tracebacks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from contivpy.cni.plugin import format_result, run_cni
from contivpy.cni.types import CniInterface, CniIP, CniRequest, CniResult, CniRoute

CONFIG = {"cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "contivpy"}
ENV = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c0ffee",
    "CNI_NETNS": "/var/run/netns/pod1",
    "CNI_IFNAME": "eth0",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
}
RESULT = CniResult(
    (CniInterface("eth0", "02:fe:00:00:00:01", "/var/run/netns/pod1"),),
    (CniIP("10.1.1.2/32", "10.1.1.1", 0),),
    (CniRoute("0.0.0.0/0", "10.1.1.1"),),
)


def run(
    env: dict[str, str],
    config: object,
    calls: list[tuple[str, CniRequest]] | None = None,
    socket: str | None = None,
) -> tuple[int, dict[str, object]]:
    async def fake(sock: str, method: str, request: CniRequest, deadline: float) -> CniResult:
        assert calls is not None
        calls.append((method, request))
        return RESULT

    stdin = io.StringIO(config if isinstance(config, str) else json.dumps(config))
    stdout = io.StringIO()
    code = run_cni(env, stdin, stdout, call=None if socket else fake)
    text = stdout.getvalue()
    return code, json.loads(text) if text else {}


def test_add_forwards_the_pod_and_prints_a_spec_result() -> None:
    calls: list[tuple[str, CniRequest]] = []
    code, out = run(ENV, CONFIG, calls)
    assert code == 0
    method, request = calls[0]
    assert method == "add"
    assert (request.pod.namespace, request.pod.name) == ("default", "web")
    assert request.netns == "/var/run/netns/pod1"
    assert out["ips"] == [{"address": "10.1.1.2/32", "gateway": "10.1.1.1", "interface": 0}]
    assert out["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.1.1.1"}]


def test_old_spec_versions_get_ip_versions() -> None:
    assert format_result(RESULT, "0.3.1")["ips"][0]["version"] == "4"  # type: ignore[index]


def test_version_needs_no_agent() -> None:
    code, out = run({"CNI_COMMAND": "VERSION"}, "")
    assert code == 0
    assert "1.0.0" in out["supportedVersions"]  # type: ignore[operator]


def test_bad_input_gives_cni_errors() -> None:
    code, out = run({**ENV, "CNI_ARGS": "K8S_POD_NAMESPACE=default"}, CONFIG, [])
    assert (code, out["code"]) == (1, 4)
    assert "K8S_POD_NAME" in str(out["msg"])
    code, out = run({**ENV, "CNI_NETNS": ""}, CONFIG, [])
    assert (code, out["code"]) == (1, 4)
    code, out = run(ENV, "{not json", [])
    assert (code, out["code"]) == (1, 6)
    code, out = run(ENV, {**CONFIG, "cniVersion": "9.9.9"}, [])
    assert (code, out["code"]) == (1, 1)


def test_delete_without_netns_is_allowed() -> None:
    calls: list[tuple[str, CniRequest]] = []
    code, _ = run({**ENV, "CNI_COMMAND": "DEL", "CNI_NETNS": ""}, CONFIG, calls)
    assert code == 0
    assert calls[0][0] == "delete"


def test_agent_down_is_a_cni_error_not_a_traceback(tmp_path: Path) -> None:
    config = {**CONFIG, "grpcServer": str(tmp_path / "missing.sock"), "timeoutSeconds": 2}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from contivpy.cli import main; sys.exit(main(['cni']))",
        ],
        input=json.dumps(config),
        env={**ENV, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["code"] == 100
    assert "missing.sock" in out["msg"]
    assert "Traceback" not in proc.stderr
