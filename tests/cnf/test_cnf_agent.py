"""``contivpy cnf``'s agent: a CNF's VPP configured from ``/vnf-agent/<label>/config/`` in etcd
(the session etcd, the test's VPP)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from contivpy.cnf.agent import CnfAgent
from contivpy.models import Interface, InterfaceType, MemifLink, XConnect
from contivpy.models.vnf_config import (
    config_prefix,
    encode_value,
    memif_socket_id,
    microservice_prefix,
    value_key,
)
from contivpy.store import Store
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.memif import MemifRole
from vpp_target.snapshot import VppSnapshot, read_snapshot
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp

LABEL = "vpp-cnf2"
T = TypeVar("T")


def memif_slave(name: str, memif_id: int, socket: str, *addresses: str) -> Interface:
    """What the node agent writes for a CNF's memif (Contiv's pod side: slave, same id)."""
    return Interface(
        name=name,
        type=InterfaceType.MEMIF,
        enabled=True,
        ip_addresses=addresses,
        link=MemifLink(
            id=memif_id,
            socket_filename=socket,
            socket_id=memif_socket_id(socket),
            master=False,
            secret="pod-secret",
        ),
    )


async def put(store: Store, label: str, *values: Interface | XConnect) -> None:
    for value in values:
        await store.put(microservice_prefix(label) + value_key(value), encode_value(value))


@contextlib.asynccontextmanager
async def running(store: Store, target: VppTarget, label: str = LABEL) -> AsyncIterator[CnfAgent]:
    agent = CnfAgent(store, label, target.socket_path)
    await agent.start(vpp_timeout=5.0)
    try:
        await agent.wait_synced()
        yield agent
    finally:
        await agent.stop()


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T:
    async with asyncio.timeout(within):
        while True:
            found = await check()
            if found is not None and found is not False:
                return found
            await asyncio.sleep(0.05)


def xconnects(snapshot: VppSnapshot) -> set[tuple[str, str]]:
    names = {i.sw_if_index: i.tag for i in snapshot.interfaces.values()}
    return {(names[x.rx_sw_if_index], names[x.tx_sw_if_index]) for x in snapshot.xconnects}


async def test_the_seed_cnf2_memifs_and_xconnect_are_applied_and_removed(
    store: Store, target: VppTarget, vpp: VppClient, tmp_path: Path
) -> None:
    socket = str(tmp_path / "memif.sock")
    await put(
        store,
        LABEL,
        memif_slave("memif1", 1, socket),
        memif_slave("memif2", 2, socket),
        # CustomConfiguration xconnect-vpp.yaml, as the reflector writes it
        XConnect("memif1", "memif2"),
        XConnect("memif2", "memif1"),
    )
    await put(store, "vpp-cnf1", memif_slave("memif1", 7, socket, "10.9.9.9/24"))  # not ours
    async with running(store, target) as agent:
        assert agent.rejected == {}
        snapshot = await read_snapshot(vpp)
        for name, memif_id in (("memif1", 1), ("memif2", 2)):
            found = snapshot.by_tag(name)
            assert found.memif is not None
            assert (found.memif.id, found.memif.role) == (memif_id, MemifRole.SLAVE)
            assert found.details.admin_up
        assert snapshot.memif_sockets[memif_socket_id(socket)] == socket
        assert xconnects(snapshot) == {("memif1", "memif2"), ("memif2", "memif1")}
        assert len([i for i in snapshot.interfaces.values() if i.memif]) == 2  # not vpp-cnf1's

        await store.delete(config_prefix(LABEL) + "vpp/l2/v2/xconnect/memif2")

        async def one_xconnect() -> set[tuple[str, str]] | None:
            found = xconnects(await read_snapshot(vpp))
            return found if len(found) == 1 else None

        assert await eventually(one_xconnect) == {("memif1", "memif2")}


async def test_a_memif_with_an_address_and_a_bad_value_left_out(
    store: Store, target: VppTarget, vpp: VppClient, tmp_path: Path
) -> None:
    socket = str(tmp_path / "memif.sock")
    await put(store, "vpp-cnf1", memif_slave("memif1", 1, socket, "10.1.1.4/24"))
    await store.put(config_prefix("vpp-cnf1") + "vpp/v2/interfaces/bad", b'{"name":"bad"}')
    async with running(store, target, "vpp-cnf1") as agent:
        found = (await read_snapshot(vpp)).by_tag("memif1")
        assert found.addresses == (ipaddress.ip_interface("10.1.1.4/24"),)
        assert found.details.admin_up
        assert "field 'type': required" in agent.rejected["config/vpp/v2/interfaces/bad"]


async def test_a_restart_against_an_unchanged_vpp_writes_nothing(
    store: Store, target: VppTarget, vpp: VppClient, tmp_path: Path
) -> None:
    sim = target.simulator
    socket = str(tmp_path / "memif.sock")
    await put(
        store,
        LABEL,
        memif_slave("memif1", 1, socket, "10.1.1.5/24"),
        memif_slave("memif2", 2, socket),
        XConnect("memif2", "memif1"),
    )
    async with running(store, target):
        before = await read_snapshot(vpp)
    writes = sim.writes()
    async with running(store, target) as again:
        assert again.resyncs == 1
        assert sim.writes() == writes  # zero VPP writes
    assert await read_snapshot(vpp) == before
