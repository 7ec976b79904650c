"""Fixtures for the VPP descriptor tests: a simulator on a real unix socket under tmp_path,
and an agent (``harness.Agent``) over it, stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.sim.vpp.server import VppSimulator
from descriptors.harness import Agent, start_agent


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[VppSimulator]:
    simulator = VppSimulator(str(tmp_path / "api.sock"))
    async with simulator:
        yield simulator


@pytest.fixture
async def agent(sim: VppSimulator) -> AsyncIterator[Agent]:
    running = await start_agent(sim)
    yield running
    await running.stop()
