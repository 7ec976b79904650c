"""Fixtures for the VPP descriptor tests: an agent (``harness.Agent``) over the test's VPP
(``target`` of ``vpp_target.fixtures``), stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from descriptors.harness import Agent, start_agent
from vpp_target.target import VppTarget


@pytest.fixture
async def agent(target: VppTarget) -> AsyncIterator[Agent]:
    running = await start_agent(target)
    yield running
    await running.stop()
