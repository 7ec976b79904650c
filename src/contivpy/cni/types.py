"""What a CNI request and result are, independent of the wire (gRPC) and of CNI JSON.

In: nothing. Out: typed requests (with the pod identity parsed out of CNI_ARGS), typed
results, and CniError carrying a CNI error code. The plugin turns them into CNI JSON; the
agent's RemoteCNI server turns them into and from protobuf messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from contivpy.errors import ContivpyError


class CniCode(enum.IntEnum):
    """CNI spec error codes, plus contivpy's own (100+)."""

    INCOMPATIBLE_VERSION = 1
    UNSUPPORTED_FIELD = 2
    UNKNOWN_CONTAINER = 3
    INVALID_ENVIRONMENT = 4
    IO_FAILURE = 5
    DECODE_FAILURE = 6
    INVALID_CONFIG = 7
    TRY_AGAIN_LATER = 11
    AGENT_UNAVAILABLE = 100  # the agent's socket cannot be reached
    WIRING_FAILED = 101  # the agent could not wire the pod (details say why)
    IP_EXHAUSTED = 102  # no pod IP left on this node


class CniError(ContivpyError):
    """A CNI failure: a code from CniCode, a one-line message, optional details."""

    def __init__(self, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class PodRef:
    """A pod by namespace and name, from CNI_ARGS."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class CniRequest:
    """One CNI call as the agent sees it."""

    container_id: str
    netns: str
    ifname: str
    pod: PodRef
    cni_version: str = "1.0.0"
    config: dict[str, Any] = field(default_factory=dict, compare=False)
    args: str = ""  # CNI_ARGS as given


@dataclass(frozen=True, slots=True)
class CniInterface:
    """An interface the pod got."""

    name: str
    mac: str = ""
    sandbox: str = ""  # netns path, empty for host-side interfaces


@dataclass(frozen=True, slots=True)
class CniIP:
    """An address of an interface (``interface`` indexes CniResult.interfaces)."""

    address: str  # CIDR
    gateway: str = ""
    interface: int = 0


@dataclass(frozen=True, slots=True)
class CniRoute:
    """A route the pod got."""

    dst: str
    gw: str = ""


@dataclass(frozen=True, slots=True)
class CniResult:
    """What an ADD returns."""

    interfaces: tuple[CniInterface, ...] = ()
    ips: tuple[CniIP, ...] = ()
    routes: tuple[CniRoute, ...] = ()


def parse_cni_args(args: str) -> dict[str, str]:
    """``K=V;K=V`` into a dict; raises CniError (invalid environment) on a malformed pair."""
    out: dict[str, str] = {}
    for part in args.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise CniError(CniCode.INVALID_ENVIRONMENT, f"CNI_ARGS: malformed pair {part!r}")
        out[key.strip()] = value.strip()
    return out


def pod_from_args(args: str) -> PodRef:
    """The pod named by K8S_POD_NAMESPACE / K8S_POD_NAME in CNI_ARGS."""
    parsed = parse_cni_args(args)
    name = parsed.get("K8S_POD_NAME", "")
    namespace = parsed.get("K8S_POD_NAMESPACE", "")
    if not name or not namespace:
        missing = "K8S_POD_NAME" if not name else "K8S_POD_NAMESPACE"
        raise CniError(CniCode.INVALID_ENVIRONMENT, f"CNI_ARGS: {missing} is missing")
    return PodRef(namespace, name)
