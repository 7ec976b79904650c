"""Helpers for tests that run reflectors: start and kill them, wait for etcd to converge to
the stand-in's objects (also used by tests/events)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from contivpy.models.k8s_codec import decode, encode, key_for, key_of
from contivpy.reflector import Reflector, ReflectorSettings
from contivpy.reflector.converting import convert
from contivpy.reflector.errors import ConversionError
from contivpy.reflector.kinds import KINDS
from contivpy.reflector.refusal_events import RefusalEvents
from contivpy.reflector.watching import KubeApi
from contivpy.sim.kube import KubeApiError, KubeApiStandIn
from contivpy.store import Store
from contivpy.store.etcd import EtcdStore

KSR = "/vnf-agent/contiv-ksr/"
T = TypeVar("T")

# (apiVersion, kind) of each reflected resource, to read the stand-in's objects.
API_KINDS = {
    "namespace": ("v1", "Namespace"),
    "node": ("v1", "Node"),
    "pod": ("v1", "Pod"),
    "service": ("v1", "Service"),
    "endpoints": ("v1", "Endpoints"),
    "endpointslice": ("discovery.k8s.io/v1", "EndpointSlice"),
    "policy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "customnetwork": ("contivpp.io/v1", "CustomNetwork"),
    "external-interface": ("contivpp.io/v1", "ExternalInterface"),
    "servicefunctionchain": ("contivpp.io/v1", "ServiceFunctionChain"),
    "customconfiguration": ("contivpp.io/v1", "CustomConfiguration"),
}


@dataclasses.dataclass
class Running:
    """A reflector running in a task, with the store and client it owns."""

    reflector: Reflector
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def kill(self) -> None:
        """A crash: cancel without handing over (the election lease is left to expire)."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def stop(self) -> None:
        """A graceful stop: leadership is released at once."""
        self.stop_event.set()
        await self.task


@contextlib.asynccontextmanager
async def running(settings: ReflectorSettings) -> AsyncIterator[Running]:
    """Run a reflector until the block ends (killed then, unless stopped before)."""
    async with EtcdStore(settings.store) as store, KubeApi.connect(settings.kubeconfig) as api:
        reflector = Reflector(settings, store, api)
        stop = asyncio.Event()
        task = asyncio.create_task(reflector.run(stop), name=f"reflector-{settings.identity}")
        handle = Running(reflector, task, stop)
        try:
            yield handle
        finally:
            if not task.done():
                await handle.kill()
            elif not task.cancelled() and task.exception() is not None:
                raise AssertionError("the reflector failed") from task.exception()


async def eventually(
    check: Callable[[], Awaitable[T | None]], within: float = 5.0, poll: float = 0.05
) -> T:
    """Poll ``check`` until it returns something other than None or False."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result is not None and result is not False:
                return result
            await asyncio.sleep(poll)


async def reflected(store: Store, prefix: str = KSR) -> dict[str, bytes]:
    """What etcd holds under ``<prefix>k8s/``, keys relative to the prefix."""
    listing = await store.list(prefix + "k8s/")
    return {item.key[len(prefix) :]: item.value for item in listing.items}


def expected_view(kube: KubeApiStandIn) -> dict[str, bytes]:
    """What the reflector should write for the stand-in's current objects."""
    view: dict[str, bytes] = {}
    for kind in KINDS:
        api_version, kind_name = API_KINDS[kind.resource]
        try:
            objects = kube.list(api_version, kind_name)
        except KubeApiError:  # a kind whose CRD is not installed: none
            continue
        for obj in objects:
            if kind.skip(obj):
                continue
            try:
                model = convert(kind.resource, obj)
            except ConversionError:
                continue
            view[key_of(model)] = encode(model)
    return view


async def converged(store: Store, kube: KubeApiStandIn, within: float = 5.0) -> dict[str, bytes]:
    """Wait until etcd equals the stand-in's view; returns it."""

    async def check() -> dict[str, bytes] | None:
        now = await reflected(store)
        return now if now == expected_view(kube) else None

    try:
        return await eventually(check, within)
    except TimeoutError as timeout:
        now, want = await reflected(store), expected_view(kube)
        missing = sorted(want.keys() - now.keys())
        extra = sorted(now.keys() - want.keys())
        changed = sorted(k for k in want.keys() & now.keys() if want[k] != now[k])
        raise AssertionError(
            f"not converged: missing {missing} extra {extra} changed {changed}"
        ) from timeout


def warnings_on(kube: KubeApiStandIn, kind: str, name: str) -> list[dict[str, Any]]:
    """The Warning Events on the ``kind`` object ``name`` of ``default``, oldest first."""
    found = [
        e
        for e in kube.list("v1", "Event", namespace="default")
        if e["involvedObject"]["kind"] == kind
        and e["involvedObject"]["name"] == name
        and e["type"] == "Warning"
    ]
    return sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))


async def has_warnings_on(
    kube: KubeApiStandIn, kind: str, name: str, count: int
) -> list[dict[str, Any]]:
    """Wait for at least ``count`` Warning Events on the object; all of them."""

    async def check() -> list[dict[str, Any]] | None:
        found = warnings_on(kube, kind, name)
        return found if len(found) >= count else None

    return await eventually(check, 5.0)


async def events_settled(
    running: Running, resource: str, name: str, arrived: Callable[[object], bool]
) -> None:
    """Wait until the leader's view has the ``resource`` object ``name`` of ``default`` as
    ``arrived`` wants its model, and a whole pass of its Event writer has covered that view."""
    view = running.reflector.view
    key = key_for(resource, name, "default")

    async def there() -> bool:
        value = view.get(resource, key)
        decoded = decode(key, value) if value is not None else None
        return decoded is not None and arrived(decoded.model)

    await eventually(there)

    async def writer() -> RefusalEvents | None:
        return running.reflector.refusal_events

    events = await eventually(writer)
    target = view.versions(events.kinds)

    async def covered() -> bool:
        synced = events.synced
        return len(synced) == len(target) and all(
            a >= b for a, b in zip(synced, target, strict=True)
        )

    await eventually(covered)
