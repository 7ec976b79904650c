"""Fixtures of the Linux-side tests: a netlink client and a per-test sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from contivpy.linux.netlink import Netlink
from linux.support import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    try:
        yield box
    finally:
        box.clean()


@pytest.fixture
async def netlink() -> AsyncIterator[Netlink]:
    client = Netlink()
    try:
        yield client
    finally:
        await client.close()
