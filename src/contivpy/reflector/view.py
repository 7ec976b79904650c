"""The informers' view of the cluster, and what of it still has to reach etcd.

In: informers putting and removing encoded objects per kind (key relative to the reflector
prefix -> stored bytes), replacing a kind wholesale after a (re)list, and anyone asking for a
mark-and-sweep resync. Out: the current objects per kind, whether every kind has been listed
once, and ``take_work``: the keys changed since the last take (dirty) and the kinds to resync,
for the etcd writer (``contivpy.reflector.mirror``).

The view is the truth the writer converges etcd to: it keeps only the latest bytes per key
(bursts of changes to one object coalesce into one write), and a change to bytes equal to
what is there already is no change. A kind is marked for resync after every (re)list, since a
relist may hide deletions the watch never reported.

Other writers that derive keys from one kind (the CustomConfiguration writer) do not take
work: they wait for the kind's ``version`` to move (every change, relist or resync request
of the kind moves it) and then read the kind's snapshot. A reader that keeps its own index of
a large kind follows it with a ``Changes`` feed instead of copying the kind at every move.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class Work:
    """What the writer has to do: resync whole kinds, and write single keys per kind."""

    resync: set[str] = field(default_factory=set)
    dirty: dict[str, set[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.resync) or any(self.dirty.values())


@dataclass(slots=True)
class Changes:
    """One reader's feed of one kind: the keys put or removed since the reader last took
    them, or ``everything`` after a (re)list replaced the kind."""

    keys: set[str] = field(default_factory=set)
    everything: bool = True  # a new feed starts from the whole kind

    def take(self) -> tuple[bool, set[str]]:
        """(everything, keys) since the last take; the feed starts empty again."""
        taken = (self.everything, self.keys)
        self.everything, self.keys = False, set()
        return taken


class ReflectedView:
    """Objects per kind as encoded bytes, with change tracking (see the module doc)."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self._objects: dict[str, dict[str, bytes]] = {kind: {} for kind in kinds}
        self._listed: set[str] = set()
        self._all_listed = asyncio.Event()
        self._work = Work()
        self._work_ready = asyncio.Event()
        self._versions: dict[str, int] = dict.fromkeys(self._objects, 0)
        self._version_waiters: set[asyncio.Event] = set()
        self._feeds: dict[str, list[Changes]] = {}

    def changes(self, kind: str) -> Changes:
        """A new feed of the kind's changes (see ``Changes``), for as long as the view lives."""
        feed = Changes()
        self._feeds.setdefault(kind, []).append(feed)
        return feed

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._objects)

    def objects(self, kind: str) -> dict[str, bytes]:
        """A snapshot of one kind's objects (key -> bytes)."""
        return dict(self._objects[kind])

    def count(self, kind: str) -> int:
        """How many objects of one kind the view holds."""
        return len(self._objects[kind])

    def get(self, kind: str, key: str) -> bytes | None:
        return self._objects[kind].get(key)

    def put(self, kind: str, key: str, value: bytes) -> bool:
        """Set one object; True when its bytes changed (then it is dirty)."""
        objects = self._objects[kind]
        if objects.get(key) == value:
            return False
        objects[key] = value
        self._mark(kind, key)
        self._bump(kind)
        return True

    def remove(self, kind: str, key: str) -> bool:
        """Remove one object; True when it was there."""
        if self._objects[kind].pop(key, None) is None:
            return False
        self._mark(kind, key)
        self._bump(kind)
        return True

    def replace(self, kind: str, objects: Mapping[str, bytes]) -> None:
        """A kind's complete contents after a (re)list; the kind is resynced against etcd."""
        self._objects[kind] = dict(objects)
        for feed in self._feeds.get(kind, ()):
            feed.everything, feed.keys = True, set()
        self._listed.add(kind)
        if self._listed >= self._objects.keys():
            self._all_listed.set()
        self.request_resync([kind])

    @property
    def all_listed(self) -> bool:
        """True once every kind has been listed at least once."""
        return self._all_listed.is_set()

    async def wait_all_listed(self) -> None:
        await self._all_listed.wait()

    def request_resync(self, kinds: Iterable[str] | None = None) -> None:
        """Ask for a mark-and-sweep of these kinds (None: all of them)."""
        chosen = list(self._objects if kinds is None else kinds)
        self._work.resync.update(chosen)
        self._work_ready.set()
        for kind in chosen:
            self._bump(kind)

    def version(self, kind: str) -> int:
        """A counter that moves whenever the kind changes or a resync of it is asked for."""
        return self._versions[kind]

    def versions(self, kinds: Iterable[str]) -> tuple[int, ...]:
        """The versions of several kinds (those the view has; others count as 0)."""
        return tuple(self._versions.get(kind, 0) for kind in kinds)

    async def wait_versions(self, kinds: tuple[str, ...], seen: tuple[int, ...]) -> None:
        """Wait until the versions of ``kinds`` are not ``seen``."""
        while self.versions(kinds) == seen:
            moved = asyncio.Event()
            self._version_waiters.add(moved)
            try:
                await moved.wait()
            finally:
                self._version_waiters.discard(moved)

    def _bump(self, kind: str) -> None:
        self._versions[kind] += 1
        for waiter in self._version_waiters:
            waiter.set()

    def take_work(self) -> Work:
        """Everything to do since the last take; resynced kinds need no single-key writes."""
        work, self._work = self._work, Work()
        self._work_ready.clear()
        for kind in work.resync:
            work.dirty.pop(kind, None)
        return work

    async def wait_work(self) -> None:
        await self._work_ready.wait()

    def _mark(self, kind: str, key: str) -> None:
        self._work.dirty.setdefault(kind, set()).add(key)
        self._work_ready.set()
        for feed in self._feeds.get(kind, ()):
            if not feed.everything:
                feed.keys.add(key)
