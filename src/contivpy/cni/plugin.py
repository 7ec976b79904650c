"""The `contivpy cni` plugin: the CNI spec on one side, the agent's RemoteCNI on the other.

In: the CNI environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS) and
the network configuration JSON on stdin. Out: the CNI result JSON on stdout and exit code 0,
or a CNI error JSON (code, msg, details) on stdout and exit code 1 — never a traceback. ADD,
DEL and CHECK go to the agent; VERSION is answered here.

The network configuration's own keys (each checked, a bad one is error 7 naming it):
``grpcServer`` the agent's socket path (a string; default /run/contivpy/cni.sock),
``timeoutSeconds`` how long to wait for the agent (a positive number; default 60), and
``simulatedNetns`` (default false): true when CNI_NETNS is a name only because the pods are
simulated (the demo and the benchmarks, whose agents run with ``configureLinux: false``).
Otherwise ADD and CHECK need CNI_NETNS to exist (error 4 naming it); DEL does not, it is
idempotent and a netns already gone is not an error.

The kubelet execs the plugin once per pod, and an ADD's time is mostly the interpreter's start
and imports (`contivpy bench pods`: ``cni_exec_*``), so this module and what it imports load
nothing but the interpreter's own start-up modules, ``_socket`` and ``_json``: no
``typing``, ``dataclasses``, ``enum``, ``json`` or ``re`` at run time (the request and the
result are plain dicts, :mod:`contivpy.cni.wire`'s documents), and the agent client is a
blocking one (:func:`contivpy.cni.client.call_sync`): no asyncio, no grpclib.
tests/cni/test_plugin.py checks what a VERSION and an ADD load.
"""

from __future__ import annotations

import os
import sys

from contivpy.cni import json_text
from contivpy.cni.errors import CniCode, CniError, pod_of_args

TYPE_CHECKING = False  # not typing's: importing typing costs the plugin ~8 ms

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import IO, Any

    from contivpy.cni.wire import Reply, Request

    # (socket path, method "add"|"delete"|"check", request, deadline seconds) -> reply
    AgentCall = Callable[[str, str, Request, float], Reply]

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
DEFAULT_SOCKET = "/run/contivpy/cni.sock"
DEFAULT_TIMEOUT_SECONDS = 60.0
_INFINITY = float("inf")


def main() -> int:
    """The plugin as the kubelet runs it: this process's environment, stdin and stdout."""
    return run_cni(os.environ, sys.stdin, sys.stdout)


def run_cni(
    env: Mapping[str, str], stdin: IO[str], stdout: IO[str], *, call: AgentCall | None = None
) -> int:
    """Run one CNI command; returns the process exit code."""
    version = "1.0.0"
    try:
        command = env.get("CNI_COMMAND", "")
        if command == "VERSION":
            _emit(stdout, {"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)})
            return 0
        config = _read_config(stdin)
        version = str(config.get("cniVersion", version))
        if version not in SUPPORTED_VERSIONS:
            raise CniError(
                CniCode.INCOMPATIBLE_VERSION,
                f"cniVersion {version} is not supported",
                "supported: " + ", ".join(SUPPORTED_VERSIONS),
            )
        if "prevResult" in config and command == "ADD":
            raise CniError(CniCode.INVALID_CONFIG, "contivpy must be the first plugin in a chain")
        method = {"ADD": "add", "DEL": "delete", "CHECK": "check"}.get(command)
        if method is None:
            raise CniError(CniCode.INVALID_ENVIRONMENT, f"CNI_COMMAND: unknown command {command!r}")
        socket = _agent_socket(config)
        timeout = _timeout(config)
        simulated = _flag(config, "simulatedNetns")
        request = _request(env, config, version, required_netns=command != "DEL")
        if command != "DEL" and not simulated and not os.path.exists(request["netns"]):
            raise CniError(
                CniCode.INVALID_ENVIRONMENT, f"CNI_NETNS: {request['netns']} does not exist"
            )
        if call is None:  # here, not at the top: VERSION and bad input need no client
            from contivpy.cni.client import call_sync

            call = call_sync
        result = call(socket, method, request, timeout)
        if command == "ADD":
            _emit(stdout, format_result(result, version))
        return 0
    except CniError as error:
        _emit(
            stdout,
            {
                "cniVersion": version,
                "code": error.code,
                "msg": error.message,
                "details": error.details,
            },
        )
        return 1
    except Exception as error:  # the contract: a CNI error, never a traceback
        _emit(
            stdout,
            {
                "cniVersion": version,
                "code": int(CniCode.IO_FAILURE),
                "msg": f"unexpected failure: {type(error).__name__}",
                "details": str(error),
            },
        )
        return 1


def _read_config(stdin: IO[str]) -> dict[str, Any]:
    text = stdin.read()
    try:
        config = json_text.loads(text)
    except ValueError as error:
        raise CniError(
            CniCode.DECODE_FAILURE, f"network configuration is not JSON: {error}"
        ) from error
    if not isinstance(config, dict):
        raise CniError(CniCode.INVALID_CONFIG, "network configuration must be a JSON object")
    return config


def _agent_socket(config: dict[str, Any]) -> str:
    value = config.get("grpcServer")
    if value is None:
        return DEFAULT_SOCKET
    if not isinstance(value, str) or not value:
        raise CniError(
            CniCode.INVALID_CONFIG,
            f"grpcServer: expected the agent's socket path (a non-empty string), got {value!r}",
        )
    return value


def _timeout(config: dict[str, Any]) -> float:
    value = config.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    # bool is an int in Python, but `true` is no number of seconds in JSON.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 < value < _INFINITY:  # NaN fails both comparisons
        raise CniError(
            CniCode.INVALID_CONFIG,
            f"timeoutSeconds: expected a positive number of seconds, got {value!r}",
        )
    return float(value)


def _flag(config: dict[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise CniError(CniCode.INVALID_CONFIG, f"{key}: expected true or false, got {value!r}")
    return value


def _request(
    env: Mapping[str, str], config: dict[str, Any], version: str, *, required_netns: bool
) -> Request:
    container_id = env.get("CNI_CONTAINERID", "")
    if not container_id:
        raise CniError(CniCode.INVALID_ENVIRONMENT, "CNI_CONTAINERID is missing")
    netns = env.get("CNI_NETNS", "")
    if required_netns and not netns:
        raise CniError(CniCode.INVALID_ENVIRONMENT, "CNI_NETNS is missing")
    args = env.get("CNI_ARGS", "")
    pod_of_args(args)  # the agent needs the pod's name: a CNI error here when it is missing
    return {
        "cni_version": version,
        "container_id": container_id,
        "netns": netns,
        "ifname": env.get("CNI_IFNAME", "eth0") or "eth0",
        "config": config,
        "args": args,
    }


def format_result(result: Reply, version: str) -> dict[str, Any]:
    """The CNI result JSON of an ADD, in the shape of the caller's spec version."""
    old = version.startswith("0.3") or version == "0.4.0"
    ips = []
    for ip in result["ips"]:
        entry: dict[str, Any] = {"address": ip["address"], "interface": ip["interface"]}
        if ip["gateway"]:
            entry["gateway"] = ip["gateway"]
        if old:
            entry["version"] = "6" if ":" in ip["address"] else "4"
        ips.append(entry)
    interfaces = []
    for interface in result["interfaces"]:
        item = {"name": interface["name"], "mac": interface["mac"]}
        if interface["sandbox"]:
            item["sandbox"] = interface["sandbox"]
        interfaces.append(item)
    routes = [{"dst": r["dst"], **({"gw": r["gw"]} if r["gw"] else {})} for r in result["routes"]]
    return {
        "cniVersion": version,
        "interfaces": interfaces,
        "ips": ips,
        "routes": routes,
        "dns": {},
    }


def _emit(stdout: IO[str], document: dict[str, Any]) -> None:
    stdout.write(json_text.dumps(document) + "\n")
    stdout.flush()
