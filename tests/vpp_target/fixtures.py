"""Fixtures of every suite that talks to a VPP (a pytest plugin loaded by the root conftest).

Out: ``target`` (the test's VPP: a simulator on a real unix socket under tmp_path, or with
``CONTIVPY_VPP_SOCKET`` a real VPP made clean), ``sim`` (the simulator itself; the test is
skipped on a real VPP) and ``vpp`` (a contivpy client connected to the target).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.client import VppClient
from vpp_target.target import VppTarget, make_client, vpp_target


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[VppTarget]:
    async with vpp_target(tmp_path) as made:
        yield made


@pytest.fixture
def sim(target: VppTarget) -> VppSimulator:
    return target.simulator


@pytest.fixture
async def vpp(target: VppTarget) -> AsyncIterator[VppClient]:
    client = make_client(target.socket_path)
    await client.start(connect_timeout=5.0)
    yield client
    await client.close()
