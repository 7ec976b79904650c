"""Leader election through etcd: one reflector writes, the others stand by.

In: a store, the leader key (``<prefix>election/leader``), this instance's identity, a lease
TTL, and the work to do while leading. Out: ``LeaderElection.run(lead)``, which campaigns
forever and runs ``lead()`` only while this instance holds the key, plus ``fence()``: the
compare every leader write carries (the key still holds our identity), so a deposed leader
that has not noticed yet cannot write.

How: a lease of ``ttl`` seconds, kept alive every ttl/3; the key is created with
``put_if_absent`` attached to the lease. A standby watches the key and campaigns again when it
is deleted — by the leader's lease expiring (it died), being revoked (it stopped), or a wipe
of the prefix — and at least every ``ttl`` seconds in case a watch missed it. A leader stops
leading when its lease is lost, the key is deleted or taken, or ``lead`` raises
``LeadershipLostError`` (a fenced write failed); it then campaigns again.

Cancelling ``run`` is a crash: the lease is not revoked, so a standby takes over when it
expires (within the TTL). ``release()`` after it is the graceful hand-over: the lease is
revoked, deleting the key at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from contivpy.backoff import Backoff
from contivpy.reflector.errors import LeadershipLostError
from contivpy.reflector.tasks import first_completed
from contivpy.store import (
    CompactedError,
    EventType,
    Lease,
    LeaseNotFoundError,
    Store,
    StoreError,
    Txn,
    ValueCompare,
)
from contivpy.store.leases import LeaseKeepAlive

log = structlog.get_logger(__name__)


class LeaderElection:
    """Campaigns for ``key`` and runs the leader's work while holding it."""

    def __init__(self, store: Store, key: str, identity: str, *, ttl: int, retry: Backoff) -> None:
        self.key = key
        self.identity = identity
        self._value = identity.encode()
        self._store = store
        self._ttl = ttl
        self._retry = retry
        self._lease: Lease | None = None
        self.leading = False
        self.terms = 0  # how often this instance became leader
        self._log = log.bind(identity=identity)

    def fence(self) -> ValueCompare:
        """The compare that makes a write succeed only while we hold the key."""
        return ValueCompare(self.key, self._value)

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Campaign, lead, repeat — until cancelled."""
        delays = self._retry.delays()
        while True:
            try:
                lease = await self._store.grant_lease(self._ttl)
            except StoreError as error:
                delay = next(delays)
                self._log.warning("cannot grant a lease", error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            delays = self._retry.delays()
            self._lease = lease
            keeper = LeaseKeepAlive(self._store, lease)
            await keeper.start()
            try:
                while (revision := await self._campaign(lease, keeper)) is not None:
                    await self._lead(lead, keeper, revision)
            finally:
                await keeper.stop()  # not revoked: see the module doc
            self._lease = None
            self._log.warning("election lease lost; campaigning with a new one")

    async def release(self) -> None:
        """Revoke the lease (after ``run`` was cancelled): a standby takes over at once."""
        lease, self._lease = self._lease, None
        if lease is None:
            return
        try:
            await self._store.revoke_lease(lease)
        except LeaseNotFoundError:
            pass
        except StoreError as error:  # it expires by itself
            self._log.warning("election lease not revoked", error=str(error))

    async def _campaign(self, lease: Lease, keeper: LeaseKeepAlive) -> int | None:
        """Wait until we hold the key; its revision, or None when the lease was lost."""
        delays = self._retry.delays()
        while not keeper.lost:
            try:
                result = await self._store.txn(
                    Txn.put_if_absent(self.key, self._value, lease=lease)
                )
            except StoreError as error:
                delay = next(delays)
                self._log.warning("campaign failed", error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            if result.succeeded:
                return result.revision
            holder = result.reads[0] if result.reads else None
            if holder is not None and holder.value == self._value:
                return holder.mod_revision  # ours already (a retried campaign)
            self._log.debug(
                "standing by", leader=holder.value.decode("utf-8", "replace") if holder else ""
            )
            await self._wait_vacant(result.revision, keeper)
        return None

    async def _wait_vacant(self, revision: int, keeper: LeaseKeepAlive) -> None:
        """Return when the key was deleted, the lease lost, or ``ttl`` seconds passed."""
        try:
            async with asyncio.timeout(self._ttl):
                await first_completed(self._key_deleted(revision), keeper.wait_lost())
        except (TimeoutError, StoreError):
            pass  # campaign again anyway

    async def _key_deleted(self, revision: int) -> None:
        async with self._store.watch(self.key, start_revision=revision + 1) as events:
            async for event in events:
                if event.key == self.key and event.type is EventType.DELETE:
                    return

    async def _lead(
        self, lead: Callable[[], Coroutine[Any, Any, None]], keeper: LeaseKeepAlive, revision: int
    ) -> None:
        self.leading = True
        self.terms += 1
        self._log.info("leading", key=self.key, term=self.terms)
        try:
            await first_completed(lead(), self._key_lost(revision), keeper.wait_lost())
        except LeadershipLostError as error:
            self._log.warning("leadership lost", error=str(error))
        finally:
            self.leading = False
        self._log.info("stopped leading", term=self.terms)

    async def _key_lost(self, revision: int) -> None:
        """Return when the key is deleted or holds another identity."""
        delays = self._retry.delays()
        while True:
            try:
                async with self._store.watch(self.key, start_revision=revision + 1) as events:
                    async for event in events:
                        if event.key != self.key:
                            continue
                        if event.type is EventType.DELETE or event.value != self._value:
                            self._log.warning("leader key gone or taken")
                            return
                return  # the store closed under us: let the campaign find out
            except CompactedError:
                pass  # look at the key itself, then watch on from there
            try:
                current = await self._store.get(self.key)
            except StoreError:
                await asyncio.sleep(next(delays))
                continue
            if current.item is None or current.item.value != self._value:
                return
            revision = current.revision
