"""Node agents in-process against real etcd and the VPP simulator (no root needed: pods are
simulated, so the Linux side is off)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from doubles.agent_nodes import Node


@pytest.fixture
async def make_node(
    tmp_path: Path, store_settings: StoreSettings
) -> AsyncIterator[Callable[[str], Awaitable[Node]]]:
    nodes: list[Node] = []
    stores: list[EtcdStore] = []

    async def make(name: str) -> Node:
        directory = tmp_path / name
        directory.mkdir()
        sim = VppSimulator(str(directory / "api.sock"))
        await sim.start()
        store = EtcdStore(store_settings)
        await store.connect()
        stores.append(store)
        node = Node(name, directory, sim, store, prefix="/vnf-agent/contiv-ksr/")
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        await node.stop_agent()
        await node.sim.stop()
    for store in stores:
        await store.close()
