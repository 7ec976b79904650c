"""Fixtures for the packet-walk tests: ``start_cluster(count)`` starts meshed Contiv vswitches
on simulated VPPs (``cluster.py``) and stops them after the test; ``two_nodes`` and
``three_nodes`` are such clusters with the pods of ``scenario.py`` wired; ``start_vpp(name)``
starts a lone simulator with a client (``memif_vpps.py``), to join to others by memifs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sim.vpp.cluster import Cluster, StartCluster, start_cluster
from sim.vpp.memif_vpps import StartVpp, Vpp, start_vpp
from sim.vpp.scenario import IP_A, IP_A2, IP_B, IP_C, POD_A, POD_A2, POD_B, POD_C


@pytest.fixture(name="start_cluster")
async def start_cluster_fixture(tmp_path: Path) -> AsyncIterator[StartCluster]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(count: int) -> Cluster:
            return await start_cluster(stack, tmp_path, count)

        yield start


@pytest.fixture
async def two_nodes(start_cluster: StartCluster) -> Cluster:
    """Nodes 1 and 2 meshed; pods A and A2 on node 1, pod B on node 2."""
    cluster = await start_cluster(2)
    await cluster.switches["node1"].add_pod(POD_A, IP_A)
    await cluster.switches["node1"].add_pod(POD_A2, IP_A2)
    await cluster.switches["node2"].add_pod(POD_B, IP_B)
    return cluster


@pytest.fixture
async def three_nodes(start_cluster: StartCluster) -> Cluster:
    """Nodes 1, 2 and 3 in a full mesh; pod A on node 1, B on node 2, C on node 3."""
    cluster = await start_cluster(3)
    await cluster.switches["node1"].add_pod(POD_A, IP_A)
    await cluster.switches["node2"].add_pod(POD_B, IP_B)
    await cluster.switches["node3"].add_pod(POD_C, IP_C)
    return cluster


@pytest.fixture(name="start_vpp")
async def start_vpp_fixture(tmp_path: Path) -> AsyncIterator[StartVpp]:
    """Start simulated VPPs by name (the process's memif links join them); all stop after
    the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(name: str, **options: Any) -> Vpp:
            return await start_vpp(stack, tmp_path, name, **options)

        yield start
