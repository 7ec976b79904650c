"""Fixtures for the VPP client and simulator tests: a simulator on a real unix socket under
tmp_path, and a contivpy client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.client import Backoff, VppClient


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[VppSimulator]:
    simulator = VppSimulator(str(tmp_path / "api.sock"))
    async with simulator:
        yield simulator


def make_client(socket_path: str) -> VppClient:
    """A client tuned for tests: short timeouts, quick health checks and reconnects."""
    return VppClient(
        socket_path,
        call_timeout=2.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )


@pytest.fixture
async def vpp(sim: VppSimulator) -> AsyncIterator[VppClient]:
    client = make_client(sim.socket_path)
    await client.start(connect_timeout=5.0)
    yield client
    await client.close()
