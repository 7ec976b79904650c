"""``async with`` for anything that is started and stopped: servers, clients, background tasks.

In: a subclass's ``start()`` and ``stop()`` coroutines. Out: ``__aenter__`` (start, then the
object itself) and ``__aexit__`` (stop, however the block ended), written once here instead
of in every service; and ``cancel_and_wait`` for the background tasks a ``stop()`` ends. It
imports nothing of contivpy, so any package may use it.

A ``start()`` that fails must leave nothing running itself: the block is not entered, so
``stop()`` is not called for it.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, Self


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task, then wait until each has ended (its cancellation is not an error)."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


class AsyncService(abc.ABC):
    """Entered with ``async with``: ``start()`` on the way in, ``stop()`` on the way out."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start serving; on failure, leave nothing running and raise."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving and release what ``start`` took."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
