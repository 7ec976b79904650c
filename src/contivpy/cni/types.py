"""What a CNI request and result are, independent of the wire (gRPC) and of CNI JSON.

In: nothing. Out: typed requests (with the pod identity parsed out of CNI_ARGS), typed
results, and CniError carrying a CNI error code (from :mod:`contivpy.cni.errors`, re-exported
here). The agent's RemoteCNI server turns them into and from protobuf messages. The exec'd
plugin uses none of this (``dataclasses`` and ``typing`` were most of its start): it works
on the plain documents of :mod:`contivpy.cni.wire`, which ``CniRequest.document`` and
``CniResult.from_reply`` convert for typed callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contivpy.cni.errors import CniCode, CniError, parse_cni_args, pod_of_args

if TYPE_CHECKING:
    from contivpy.cni.wire import Reply, Request

__all__ = [
    "CniCode",
    "CniError",
    "CniIP",
    "CniInterface",
    "CniRequest",
    "CniResult",
    "CniRoute",
    "PodRef",
    "parse_cni_args",
    "pod_from_args",
]


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

    def document(self) -> Request:
        """The request as the plugin's wire codec takes it."""
        return {
            "cni_version": self.cni_version,
            "container_id": self.container_id,
            "netns": self.netns,
            "ifname": self.ifname,
            "config": self.config,
            "args": self.args,
        }


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

    def document(self) -> Reply:
        """The result as the wire codec takes it (the inverse of ``from_reply``)."""
        return {
            "interfaces": [
                {"name": i.name, "mac": i.mac, "sandbox": i.sandbox} for i in self.interfaces
            ],
            "ips": [
                {"address": i.address, "gateway": i.gateway, "interface": i.interface}
                for i in self.ips
            ],
            "routes": [{"dst": r.dst, "gw": r.gw} for r in self.routes],
        }

    @classmethod
    def from_reply(cls, reply: Reply) -> CniResult:
        """The result of the plugin's wire codec's reply document."""
        return cls(
            tuple(CniInterface(i["name"], i["mac"], i["sandbox"]) for i in reply["interfaces"]),
            tuple(CniIP(i["address"], i["gateway"], i["interface"]) for i in reply["ips"]),
            tuple(CniRoute(r["dst"], r["gw"]) for r in reply["routes"]),
        )


def pod_from_args(args: str) -> PodRef:
    """The pod named by K8S_POD_NAMESPACE / K8S_POD_NAME in CNI_ARGS."""
    return PodRef(*pod_of_args(args))
