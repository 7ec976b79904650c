"""Keeping a lease alive: a background task that refreshes it every TTL/3.

In: a ``Store`` and a granted ``Lease`` (or a TTL, for ``held_lease``). Out: ``LeaseKeepAlive``,
which refreshes until stopped and notices when the lease is lost, and ``held_lease``, an async
context manager that grants, keeps alive and finally revokes a lease (node registrations,
leader election). aetcd has no background keep-alive, and the store protocol offers only
one-shot ``refresh_lease``, so this loop is the one place that keeps leases alive.

Refreshing at TTL/3 leaves two more chances before expiry. When a refresh fails because etcd is
unreachable, the loop retries sooner (backoff capped at TTL/3); the lease is declared lost only
when etcd says so (``LeaseNotFoundError``): after an etcd restart the leader extends every
lease, so an outage longer than the TTL does not by itself mean the lease is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from contivpy.async_service import AsyncService
from contivpy.backoff import Backoff
from contivpy.store.api import Lease, Store
from contivpy.store.errors import LeaseNotFoundError, StoreClosedError, StoreError

log = structlog.get_logger(__name__)


class LeaseKeepAlive(AsyncService):
    """Refreshes ``lease`` every ``ttl / 3`` seconds in a task, from ``start()`` to ``stop()``."""

    def __init__(self, store: Store, lease: Lease, *, interval: float | None = None) -> None:
        self.lease = lease
        self._store = store
        self._interval = interval if interval is not None else max(lease.ttl / 3, 0.1)
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._log = log.bind(lease_id=lease.id, ttl=lease.ttl)

    @property
    def lost(self) -> bool:
        """True once etcd reported the lease gone (expired or revoked)."""
        return self._lost.is_set()

    async def wait_lost(self) -> None:
        """Return when the lease is lost (e.g. to step down as leader)."""
        await self._lost.wait()

    async def start(self) -> None:
        """Start refreshing (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"lease-keepalive-{self.lease.id}")

    async def stop(self) -> None:
        """Stop refreshing; the lease then expires after its TTL unless revoked."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        retry_delays = Backoff(initial=0.1, maximum=self._interval).delays()
        delay = self._interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self._store.refresh_lease(self.lease)
            except LeaseNotFoundError:
                self._log.warning("lease lost")
                self._lost.set()
                return
            except StoreClosedError:
                return  # shutting down: the lease expires by itself
            except StoreError as exc:
                delay = next(retry_delays)
                self._log.warning("lease refresh failed, retrying", retry_in=delay, error=str(exc))
                continue
            delay = self._interval
            retry_delays = Backoff(initial=0.1, maximum=self._interval).delays()


@contextlib.asynccontextmanager
async def held_lease(store: Store, ttl: int) -> AsyncIterator[LeaseKeepAlive]:
    """Grant a lease of ``ttl`` seconds, keep it alive inside the block, revoke it after
    (deleting its keys at once rather than a TTL later). Yields the keep-alive: use
    ``.lease`` to put keys with it and ``.wait_lost()`` to learn that it expired anyway."""
    lease = await store.grant_lease(ttl)
    keeper = LeaseKeepAlive(store, lease)
    await keeper.start()
    try:
        yield keeper
    finally:
        await keeper.stop()
        try:
            await store.revoke_lease(lease)
        except LeaseNotFoundError:
            pass  # already expired: nothing left to revoke
        except StoreError as exc:  # it expires by itself after the TTL
            log.warning("lease revoke failed", lease_id=lease.id, error=str(exc))
