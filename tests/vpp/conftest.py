"""Fixtures for the VPP client and simulator tests: the test's VPP (``target``: a simulator
on a real unix socket under tmp_path, or with ``CONTIVPY_VPP_SOCKET`` a real VPP made clean),
the simulator itself (``sim``: skipped on a real VPP), and a contivpy client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.backoff import Backoff
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.client import VppClient
from vpp_target.target import VppTarget, vpp_target


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[VppTarget]:
    async with vpp_target(tmp_path) as made:
        yield made


@pytest.fixture
def sim(target: VppTarget) -> VppSimulator:
    return target.simulator


def make_client(socket_path: str) -> VppClient:
    """A client tuned for tests: short timeouts, quick health checks and reconnects."""
    return VppClient(
        socket_path,
        call_timeout=2.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )


@pytest.fixture
async def vpp(target: VppTarget) -> AsyncIterator[VppClient]:
    client = make_client(target.socket_path)
    await client.start(connect_timeout=5.0)
    yield client
    await client.close()
