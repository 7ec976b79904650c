"""NAT44-ED sessions and affinities in one simulated VPP, and its seeded choice of backend.

In: sessions the packet walk creates (``forwarding_nat``), lookups by a packet's 5-tuple,
deletions (``nat44_del_session``), a seed (the control socket's ``nat_seed``) and a clock
(seconds; tests give their own). Out: the session a packet belongs to and in which
direction, the users and sessions the dumps list, a load-balanced mapping's local chosen by
the locals' probabilities.

As VPP's endpoint-dependent NAT: a session holds two flows, in2out (inside address and port
to the external host as the inside sees it) and out2in (the external host to the outside
address and port), each looked up by its exact 5-tuple; a session idle longer than its
protocol's timeout is gone at the next lookup. A load-balanced mapping picks ``1 +
random % total`` along the locals' cumulative probabilities; with affinity a client keeps
its backend of that mapping for the affinity timeout after it last chose it.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

IPv4 = ipaddress.IPv4Address
T = TypeVar("T")

PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
#: the first port a translation allocates (VPP keeps the original port from here on)
FIRST_DYNAMIC_PORT = 1024
#: the seed a fresh state draws backends with (deterministic unless told otherwise)
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Endpoint:
    """An address and a port (0 for protocols without ports)."""

    ip: IPv4
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}" if self.port else str(self.ip)


#: (protocol, source, destination) of a packet
FlowKey = tuple[int, Endpoint, Endpoint]


@dataclass
class NatSession:
    """One translation. ``inside``: the backend (DNAT) or the client (SNAT); ``outside``:
    the frontend (DNAT) or the pool address (SNAT); ``ext_host``: the peer as the outside
    sees it, ``ext_host_nat``: as the inside sees it (the twice-NAT address, else the same)."""

    protocol: int
    inside: Endpoint
    outside: Endpoint
    ext_host: Endpoint
    ext_host_nat: Endpoint
    inside_vrf: int
    static: bool
    twice_nat: bool
    last_heard: float
    packets: int = 0

    @property
    def in2out(self) -> FlowKey:
        """What a packet from the inside looks like."""
        return (self.protocol, self.inside, self.ext_host_nat)

    @property
    def out2in(self) -> FlowKey:
        """What a packet from the outside looks like."""
        return (self.protocol, self.ext_host, self.outside)


def _timeout(timeouts: Sequence[int], protocol: int) -> int:
    udp, tcp_established, _transitory, icmp = timeouts
    return {PROTO_TCP: tcp_established, PROTO_ICMP: icmp}.get(protocol, udp)


class SessionTable:
    """Sessions by both their flows, affinities, and the random source."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.timeouts: Sequence[int] = (300, 7440, 240, 60)
        self._in2out: dict[FlowKey, NatSession] = {}
        self._out2in: dict[FlowKey, NatSession] = {}
        #: (client, mapping key) -> (the local chosen, when the affinity ends)
        self._affinity: dict[tuple[IPv4, object], tuple[object, float]] = {}
        self.rng = random.Random(DEFAULT_SEED)

    def seed(self, seed: int) -> None:
        """Draw backends from ``seed`` on (the same seed, the same choices)."""
        self.rng = random.Random(seed)

    def __iter__(self) -> Iterator[NatSession]:
        return iter(list(self._in2out.values()))

    def __len__(self) -> int:
        return len(self._in2out)

    def clear(self) -> None:
        self._in2out.clear()
        self._out2in.clear()
        self._affinity.clear()

    def add(self, session: NatSession) -> None:
        self._in2out[session.in2out] = session
        self._out2in[session.out2in] = session

    def remove(self, session: NatSession) -> None:
        self._in2out.pop(session.in2out, None)
        self._out2in.pop(session.out2in, None)

    def _alive(self, session: NatSession | None) -> NatSession | None:
        if session is None:
            return None
        if self.clock() - session.last_heard > _timeout(self.timeouts, session.protocol):
            self.remove(session)
            return None
        return session

    def from_inside(self, key: FlowKey) -> NatSession | None:
        """The session whose in2out flow ``key`` is."""
        return self._alive(self._in2out.get(key))

    def from_outside(self, key: FlowKey) -> NatSession | None:
        """The session whose out2in flow ``key`` is."""
        return self._alive(self._out2in.get(key))

    def timed_out(self, session: NatSession) -> bool:
        """Whether ``session`` was idle longer than its protocol's timeout."""
        return self.clock() - session.last_heard > _timeout(self.timeouts, session.protocol)

    def free_port(self, taken: Callable[[int], bool], wanted: int) -> int | None:
        """``wanted`` when it is a dynamic port ``taken`` says is free, else the first free
        dynamic port (None: none left)."""
        if wanted >= FIRST_DYNAMIC_PORT and not taken(wanted):
            return wanted
        return next((p for p in range(FIRST_DYNAMIC_PORT, 65536) if not taken(p)), None)

    def outside_taken(self, protocol: int, ext_host: Endpoint, ip: IPv4) -> Callable[[int], bool]:
        """Whether an out2in flow from ``ext_host`` to (``ip``, port) exists."""
        return lambda port: (protocol, ext_host, Endpoint(ip, port)) in self._out2in

    def inside_taken(self, protocol: int, inside: Endpoint, ip: IPv4) -> Callable[[int], bool]:
        """Whether an in2out flow from ``inside`` to (``ip``, port) exists."""
        return lambda port: (protocol, inside, Endpoint(ip, port)) in self._in2out

    def choose(
        self, client: IPv4, mapping: object, locals_: Sequence[tuple[T, int]], affinity: int
    ) -> tuple[T, bool]:
        """The local (of ``locals_``: (local, probability)) a new session of ``client`` to
        ``mapping`` goes to, and whether affinity kept it."""
        now = self.clock()
        key = (client, mapping)
        if affinity:
            kept = self._affinity.get(key)
            chosen = next((x for x, _ in locals_ if kept is not None and x == kept[0]), None)
            if kept is not None and kept[1] >= now and chosen is not None:
                self._affinity[key] = (chosen, now + affinity)
                return chosen, True
        weights = [p for _, p in locals_]
        total = sum(weights)
        if total <= 0:  # every weight 0: VPP would divide by zero; pick evenly
            index = self.rng.randrange(len(weights))
        else:
            draw, index = 1 + self.rng.randrange(total), 0
            cumulative = weights[0]
            while cumulative < draw:
                index += 1
                cumulative += weights[index]
        chosen = locals_[index][0]
        if affinity:
            self._affinity[key] = (chosen, now + affinity)
        return chosen, False
