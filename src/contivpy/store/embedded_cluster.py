"""Several embedded etcd members forming one cluster on loopback (tests of etcd failover).

In: a working directory, a member count and the raft tuning ``EmbeddedEtcd`` takes. Out:
``EmbeddedEtcdCluster``: ``size`` ``EmbeddedEtcd`` members (``member-1`` ... in
``<workdir>/member-N``), each on its own free client and peer ports, started together (a
member reports healthy only once a quorum has elected a leader), with their ``endpoints`` for
``StoreSettings``. Each member can be killed and started again on its own; a restarted member
rejoins from its data directory. Use as ``async with EmbeddedEtcdCluster(dir) as cluster``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from contivpy.async_service import AsyncService
from contivpy.store.embedded import EmbeddedEtcd, free_ports
from contivpy.store.errors import EmbeddedEtcdError


class EmbeddedEtcdCluster(AsyncService):
    """``size`` etcd members on 127.0.0.1 (see the module doc). ``options`` go to every
    ``EmbeddedEtcd`` (heartbeat and election timing, ``unsafe_no_fsync``...)."""

    def __init__(self, workdir: Path, *, size: int = 3, **options: Any) -> None:
        if size < 1:
            raise EmbeddedEtcdError("an etcd cluster needs at least one member")
        host = "127.0.0.1"
        ports = free_ports(host, 2 * size)  # all bound at once, so they differ
        names = [f"member-{index}" for index in range(1, size + 1)]
        peers = ",".join(f"{name}=http://{host}:{ports[2 * i + 1]}" for i, name in enumerate(names))
        self.workdir = workdir
        self.members = [
            EmbeddedEtcd(
                workdir / name,
                name=name,
                host=host,
                client_port=ports[2 * i],
                peer_port=ports[2 * i + 1],
                initial_cluster=peers,
                **options,
            )
            for i, name in enumerate(names)
        ]

    def __repr__(self) -> str:
        return f"EmbeddedEtcdCluster(endpoints={self.endpoints!r})"

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every member's ``host:port``, for ``StoreSettings.endpoints``."""
        return tuple(member.endpoint for member in self.members)

    def member(self, endpoint: str) -> EmbeddedEtcd:
        """The member serving ``endpoint`` (``host:port``)."""
        for member in self.members:
            if member.endpoint == endpoint:
                return member
        raise KeyError(endpoint)

    async def start(self) -> None:
        """Start every member that is not running, together, and wait until all are healthy.
        When one fails, the members this call started are stopped again before it raises."""
        starting = [m for m in self.members if not m.running]
        try:
            await asyncio.gather(*(m.start() for m in starting))
        except BaseException:
            for member in starting:
                await member.stop()
            raise

    async def stop(self) -> None:
        """Stop every member, one after the other: a leader stopping hands its leadership to
        a member still running (quickly), where stopping all at once would make it wait for
        a transfer that cannot happen."""
        for member in self.members:
            await member.stop()
