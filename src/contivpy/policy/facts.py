"""What the policy processor needs to know of a pod, built from the reflected model.

In: a reflected ``Pod`` model. Out: :class:`PodFacts` — namespace, name, labels, IPs, named
container ports and node. A pod without an IP is neither a peer nor configured (Contiv waited
for IPs too); a host-network pod's IPs are its node's, which ``pod_facts`` leaves out: it has no
pod interface to isolate and Kubernetes leaves policies for it undefined.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from contivpy.models.k8s_codec import Pod, Protocol
from contivpy.policy.rules import Address, Proto

_PROTOCOLS = {Protocol.TCP: Proto.TCP, Protocol.UDP: Proto.UDP, Protocol.SCTP: Proto.SCTP}


@dataclass(frozen=True, slots=True)
class NamedPort:
    """A container port with a name: what a policy's named port resolves to."""

    name: str
    protocol: Proto
    port: int


@dataclass(frozen=True, slots=True)
class PodFacts:
    """A pod as policies see it."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ips: tuple[Address, ...] = ()
    ports: tuple[NamedPort, ...] = ()  # sorted
    node: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def resolve(self, name: str, protocol: Proto) -> tuple[int, ...]:
        """The port numbers its containers give ``name`` for ``protocol``."""
        return tuple(p.port for p in self.ports if p.name == name and p.protocol is protocol)

    def __eq__(self, other: object) -> bool:
        # labels is a Mapping (unhashable): compare it as a dict
        return (
            isinstance(other, PodFacts)
            and (self.namespace, self.name, self.ips, self.ports, self.node)
            == (other.namespace, other.name, other.ips, other.ports, other.node)
            and dict(self.labels) == dict(other.labels)
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.name, self.ips))


def pod_facts(pod: Pod) -> PodFacts:
    """A reflected pod's facts (IPs: every pod IP, the primary first; none if host-network)."""
    ips: list[Address] = []
    if not pod.host_network:
        for text in [pod.ip_address, *pod.ip_addresses]:
            try:
                ip = ipaddress.ip_address(text)
            except ValueError:
                continue
            if ip not in ips:
                ips.append(ip)
    ports = sorted(
        {
            NamedPort(port.name, _PROTOCOLS[port.protocol], port.container_port)
            for container in pod.containers
            for port in container.ports
            if port.name and port.protocol in _PROTOCOLS and 0 < port.container_port <= 65535
        },
        key=lambda p: (p.name, p.protocol.value, p.port),
    )
    return PodFacts(
        pod.namespace, pod.name, dict(pod.labels), tuple(ips), tuple(ports), pod.node_name
    )
