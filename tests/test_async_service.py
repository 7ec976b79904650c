"""``async with`` over AsyncService: running inside the block, stopped after it however it ends."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.async_service import AsyncService, cancel_and_wait


class Listener(AsyncService):
    def __init__(self, *, fail_start: bool = False) -> None:
        self.fail_start = fail_start
        self.running = False
        self.stopped = False

    async def start(self) -> None:
        if self.fail_start:
            raise OSError("address in use")
        self.running = True

    async def stop(self) -> None:
        self.running = False
        self.stopped = True


async def test_the_block_runs_with_the_service_started_and_it_is_stopped_after() -> None:
    async with Listener() as listener:
        assert listener.running
    assert not listener.running


async def test_an_error_in_the_block_still_stops_the_service() -> None:
    listener = Listener()
    with pytest.raises(ValueError, match="boom"):
        async with listener:
            raise ValueError("boom")
    assert not listener.running
    assert listener.stopped


async def test_a_failed_start_enters_no_block_and_is_not_stopped_again() -> None:
    listener = Listener(fail_start=True)
    with pytest.raises(OSError, match="address in use"):
        async with listener:
            pytest.fail("the block must not run")
    assert not listener.stopped


def test_a_service_without_stop_cannot_be_made() -> None:
    class Half(AsyncService):
        async def start(self) -> None:
            pass

    with pytest.raises(TypeError):
        Half()  # type: ignore[abstract]


async def test_cancel_and_wait_ends_every_task_before_returning() -> None:
    ended: list[int] = []

    async def forever(index: int) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(index)

    tasks = [asyncio.create_task(forever(i)) for i in range(3)]
    await asyncio.sleep(0)  # let them start
    await cancel_and_wait(tasks)
    assert sorted(ended) == [0, 1, 2]
    assert all(task.cancelled() for task in tasks)
