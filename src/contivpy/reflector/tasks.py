"""Running a few long-lived coroutines together until the first of them ends.

In: coroutines that normally run forever (informers, watchers, the etcd writer). Out:
``first_completed`` returns (or raises) as soon as one of them ends: the rest are cancelled and
awaited, so nothing outlives the call. Unlike ``asyncio.TaskGroup`` the first error comes out
as itself, not wrapped in an ``ExceptionGroup``, so callers can ``except
LeadershipLostError`` directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def first_completed(*coroutines: Coroutine[Any, Any, Any]) -> None:
    """Run ``coroutines`` as tasks until one ends; cancel the others; re-raise its error."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:  # in argument order, so the result does not depend on set order
        if task in done and not task.cancelled() and (error := task.exception()) is not None:
            raise error
