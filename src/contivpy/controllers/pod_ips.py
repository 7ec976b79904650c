"""Pod IP allocation within this node's pod subnet.

In: pod IDs (a pod's main interface) and pod interfaces (its custom interfaces) asking for an
address; pods known to hold one (restored at start from the
podmanager's state file and from reflected pod status). Out: an address per pod, handed out
round-robin from the last one given (so a freed address is not reused at once — a late packet
for a deleted pod does not reach its successor), never the gateway or the NAT loopback, and
never twice. Exhaustion is an error naming the subnet.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.errors import PermanentError
from contivpy.settings import IPAddress, IPNetwork


class PodSubnetExhaustedError(PermanentError):
    """No free pod address left on this node."""


@dataclass(frozen=True, slots=True, order=True)
class PodID:
    """A pod by namespace and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, order=True)
class PodInterface:
    """A custom interface of a pod, which has an address of its own."""

    pod: PodID
    interface: str

    def __str__(self) -> str:
        return f"{self.pod} {self.interface}"


#: who holds an address: a pod (its main interface) or one of its custom interfaces
IpOwner = PodID | PodInterface


class PodIpAllocator:
    """Addresses of one pod subnet; host numbers ``first``..``last`` are allocatable."""

    def __init__(self, subnet: IPNetwork, first: int, last: int) -> None:
        self.subnet = subnet
        self._first = first
        self._last = last
        self._by_pod: dict[IpOwner, IPAddress] = {}
        self._by_host: dict[int, IpOwner] = {}
        # each pod's owners (itself and its custom interfaces): a pod's look-ups and releases
        # cost what the pod holds, not what the node holds
        self._of_pod: dict[PodID, set[IpOwner]] = {}
        self._last_given = first - 1

    @property
    def capacity(self) -> int:
        """How many pods fit."""
        return self._last - self._first + 1

    def __len__(self) -> int:
        return len(self._by_pod)

    def get(self, pod: IpOwner) -> IPAddress | None:
        """The pod's address, if it has one."""
        return self._by_pod.get(pod)

    def owner(self, ip: IPAddress) -> IpOwner | None:
        """The pod holding ``ip``."""
        return self._by_host.get(self._host(ip))

    def allocations(self) -> dict[IpOwner, IPAddress]:
        """Every allocation (a copy)."""
        return dict(self._by_pod)

    def allocate(self, pod: IpOwner) -> IPAddress:
        """The pod's address: its existing one, or the next free after the last given."""
        existing = self._by_pod.get(pod)
        if existing is not None:
            return existing
        span = self.capacity
        for step in range(1, span + 1):
            host = self._first + (self._last_given - self._first + step) % span
            if host not in self._by_host:
                self._take(pod, host)
                self._last_given = host
                return self.subnet.network_address + host
        raise PodSubnetExhaustedError(
            f"no free pod IP in {self.subnet} ({span} addresses, all in use); pod {pod} not wired"
        )

    def restore(self, pod: IpOwner, ip: IPAddress) -> bool:
        """Record an address a pod already holds. False when it is not ours to give (outside
        the range) or held by another pod (the first holder keeps it)."""
        if ip not in self.subnet:
            return False
        host = self._host(ip)
        if not self._first <= host <= self._last:
            return False
        holder = self._by_host.get(host)
        if holder is not None and holder != pod:
            return False
        self.release(pod)
        self._take(pod, host)
        self._last_given = max(self._last_given, host)
        return True

    def release(self, pod: IpOwner) -> IPAddress | None:
        """Free the pod's address; returns it."""
        ip = self._by_pod.pop(pod, None)
        if ip is not None:
            del self._by_host[self._host(ip)]
            holder = pod.pod if isinstance(pod, PodInterface) else pod
            owners = self._of_pod.get(holder)
            if owners is not None:
                owners.discard(pod)
                if not owners:
                    del self._of_pod[holder]
        return ip

    def _take(self, pod: IpOwner, host: int) -> None:
        self._by_pod[pod] = self.subnet.network_address + host
        self._by_host[host] = pod
        holder = pod.pod if isinstance(pod, PodInterface) else pod
        self._of_pod.setdefault(holder, set()).add(pod)

    def owners_of(self, pod: PodID) -> list[IpOwner]:
        """What holds an address for ``pod``: the pod itself and its custom interfaces (in a
        fixed order: the pod first, then its interfaces by name)."""
        return sorted(
            self._of_pod.get(pod, ()), key=lambda o: (isinstance(o, PodInterface), str(o))
        )

    def _host(self, ip: IPAddress) -> int:
        return int(ip) - int(self.subnet.network_address)
