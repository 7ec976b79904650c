"""Fixtures for the VPP descriptor tests: the test's VPP (``target``: a simulator on a real
unix socket under tmp_path, or with ``CONTIVPY_VPP_SOCKET`` a real VPP made clean), the
simulator itself for fault injection (``sim``: skipped on a real VPP), and an agent
(``harness.Agent``) over it, stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.sim.vpp.server import VppSimulator
from descriptors.harness import Agent, start_agent
from vpp_target.target import VppTarget, require_simulator, vpp_target


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[VppTarget]:
    async with vpp_target(tmp_path) as made:
        yield made


@pytest.fixture
def sim(target: VppTarget) -> VppSimulator:
    # the tests that ask for the simulator inject failures with it
    require_simulator("fault injection (fail_next)")
    return target.simulator


@pytest.fixture
async def agent(target: VppTarget) -> AsyncIterator[Agent]:
    running = await start_agent(target)
    yield running
    await running.stop()
