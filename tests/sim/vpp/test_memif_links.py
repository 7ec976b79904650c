"""memif connections between simulated VPPs of one process, as VPP 26.06's memif plugin makes
them: what each VPP then reports (memif_dump, sw_interface_dump, events, ``show memif``).

The layout is Contiv's: the vswitch is the master on a socket file in a per-pod host
directory; the CNF pod's VPP is the slave on its default socket 0, ``/run/vpp/memif.sock``,
which it sees there because that directory is mounted at ``/run/vpp``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from contivpy.sim.vpp.memif_links import MemifLinks
from contivpy.vppcalls import interfaces, memif
from contivpy.vppcalls.memif import MemifMode, MemifRole
from sim.vpp.memif_vpps import (
    POD_RUN_DIR,
    POD_SOCKET,
    StartVpp,
    Vpp,
    add_memif,
    link_up,
    memif_details,
    pod_dir,
    start_vpp,
)

SECRET = "s3cret-memif-secret"


async def _pod_pair(start_vpp: StartVpp, tmp_path: Path) -> tuple[Vpp, Vpp, str]:
    """A vswitch and a CNF whose /run/vpp is the pod's memif directory."""
    directory = pod_dir(tmp_path, "cnf1")
    vswitch = await start_vpp("vswitch")
    cnf = await start_vpp("cnf1", mounts={POD_RUN_DIR: str(directory)})
    return vswitch, cnf, str(directory / "memif.sock")


async def _master(vswitch: Vpp, host_socket: str, **spec: object) -> int:
    return await add_memif(
        vswitch,
        socket_id=1,
        filename=host_socket,
        memif_id=1,
        role=MemifRole.MASTER,
        **{"secret": SECRET, **spec},
    )


async def _slave(cnf: Vpp, **spec: object) -> int:
    options: dict[str, object] = {"memif_id": 1, "secret": SECRET, **spec}
    return await add_memif(cnf, socket_id=0, filename=POD_SOCKET, role=MemifRole.SLAVE, **options)


async def test_master_and_slave_on_one_socket_file_connect(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket)
    slave = await _slave(cnf, up=False, ring_size=512, buffer_size=4096, rx_queues=2)
    # a master listens whatever its admin state, but a slave connects only once admin up
    assert not await link_up(vswitch, master)
    assert not await link_up(cnf, slave)

    await interfaces.set_admin_state(cnf.client, slave, True)

    assert await link_up(vswitch, master)
    assert await link_up(cnf, slave)
    on_slave = await memif_details(cnf, slave)
    on_master = await memif_details(vswitch, master)
    assert (on_slave.admin_up, on_slave.link_up) == (True, True)
    # the slave reports the sizes it runs with (its own); a master never fills them in
    assert (on_slave.ring_size, on_slave.buffer_size) == (512, 4096)
    assert (on_master.ring_size, on_master.buffer_size) == (1, 0)
    assert (on_master.role, on_slave.role) == (MemifRole.MASTER, MemifRole.SLAVE)


async def test_show_memif_tells_the_peer_and_the_negotiated_rings_but_no_secret(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    await _master(vswitch, host_socket, rx_queues=4, tx_queues=4, ring_size=2048)
    await _slave(cnf, ring_size=512, rx_queues=2, tx_queues=1)

    on_master = vswitch.sim.show_memif()
    on_slave = cnf.sim.show_memif()

    assert f"  1   yes (1)     {host_socket}" in on_master
    assert "  0   no          /run/vpp/memif.sock" in on_slave
    assert 'remote-interface "memif0/1"' in on_master
    assert 'remote-interface "memif1/1"' in on_slave
    assert "flags admin-up connected" in on_master
    assert "flags admin-up slave connected zero-copy" in on_slave
    # the slave's queues make the rings: its tx the slave-to-master ones, its rx the others
    assert "num-s2m-rings 1 num-m2s-rings 2 buffer-size 0" in on_master
    assert "num-s2m-rings 1 num-m2s-rings 2 buffer-size 2048" in on_slave
    assert on_master.count("ring-size 512") == 3
    assert SECRET not in on_master + on_slave


async def test_the_masters_vpp_hears_the_link_come_up_and_go_down(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket)
    events = await interfaces.subscribe_interface_events(vswitch.client)

    slave = await _slave(cnf)  # a request to the CNF's VPP only
    up = await asyncio.wait_for(events.get(), timeout=5)
    await memif.delete_memif(cnf.client, slave)
    down = await asyncio.wait_for(events.get(), timeout=5)

    assert up == interfaces.InterfaceEvent(master, admin_up=True, link_up=True, deleted=False)
    assert down == interfaces.InterfaceEvent(master, admin_up=True, link_up=False, deleted=False)


@pytest.mark.parametrize(
    ("slave_spec", "reason"),
    [
        ({"secret": "another-secret"}, "incorrect secret"),
        ({"secret": ""}, "secret required"),
        ({"mode": MemifMode.IP}, "mode mismatch"),
        ({"memif_id": 2}, "unmatched interface id"),
    ],
    ids=["wrong-secret", "no-secret", "mode", "id"],
)
async def test_a_refused_slave_leaves_both_down(
    start_vpp: StartVpp, tmp_path: Path, slave_spec: dict[str, object], reason: str
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket)

    slave = await _slave(cnf, **slave_spec)

    assert not await link_up(vswitch, master)
    assert not await link_up(cnf, slave)
    assert (await memif_details(cnf, slave)).ring_size == 1  # never connected
    # the master's refusal reaches the slave, which says why (and never what the secret is)
    assert f'remote-disc-reason "{reason}"' in cnf.sim.show_memif()
    assert SECRET not in cnf.sim.show_memif() + vswitch.sim.show_memif()


async def test_a_master_without_a_secret_takes_a_slave_with_one(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket, secret="")

    slave = await _slave(cnf)

    assert await link_up(vswitch, master)
    assert await link_up(cnf, slave)


async def test_a_master_takes_one_slave(start_vpp: StartVpp, tmp_path: Path) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    other = await start_vpp("cnf1-again", mounts={POD_RUN_DIR: str(Path(host_socket).parent)})
    await _master(vswitch, host_socket)
    first = await _slave(cnf)

    second = await _slave(other)

    assert await link_up(cnf, first)
    assert not await link_up(other, second)
    assert 'remote-disc-reason "already connected"' in other.sim.show_memif()


async def test_without_the_mount_the_cnf_knocks_at_another_file(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    directory = pod_dir(tmp_path, "cnf1")
    vswitch = await start_vpp("vswitch")
    cnf = await start_vpp("cnf1")  # its /run/vpp/memif.sock is not the pod's directory
    master = await _master(vswitch, str(directory / "memif.sock"))
    slave = await _slave(cnf)
    assert not await link_up(vswitch, master)

    cnf.sim.mount(POD_RUN_DIR, str(directory))

    assert await link_up(vswitch, master)
    assert await link_up(cnf, slave)


@pytest.mark.parametrize("deleted", ["master", "slave"])
async def test_deleting_either_end_takes_the_other_down(
    start_vpp: StartVpp, tmp_path: Path, deleted: str
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket, secret="")
    slave = await _slave(cnf, ring_size=256)

    if deleted == "master":
        await memif.delete_memif(vswitch.client, master)
        survivor, index = cnf, slave
    else:
        await memif.delete_memif(cnf.client, slave)
        survivor, index = vswitch, master

    assert not await link_up(survivor, index)
    assert 'remote-disc-reason "interface deleted"' in survivor.sim.show_memif()
    if deleted == "master":
        # VPP keeps a slave's sizes of its last connection
        assert (await memif_details(cnf, slave)).ring_size == 256
        await _master(vswitch, host_socket, secret="")  # a new master: the slave comes back
        assert await link_up(cnf, slave)


async def test_admin_down_does_not_disconnect_a_memif(start_vpp: StartVpp, tmp_path: Path) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    master = await _master(vswitch, host_socket)
    slave = await _slave(cnf)

    await interfaces.set_admin_state(cnf.client, slave, False)
    await interfaces.set_admin_state(vswitch.client, master, False)

    # VPP's memif admin-down handler only clears a flag: the link stays up
    on_slave = await memif_details(cnf, slave)
    assert (on_slave.admin_up, on_slave.link_up) == (False, True)
    assert await link_up(vswitch, master)


async def test_a_stopped_vpp_takes_its_peers_down_and_a_new_one_reconnects(
    start_vpp: StartVpp, tmp_path: Path
) -> None:
    vswitch, cnf, host_socket = await _pod_pair(start_vpp, tmp_path)
    await _master(vswitch, host_socket)
    slave = await _slave(cnf)
    assert await link_up(cnf, slave)

    await vswitch.sim.restart()  # all memifs of the vswitch gone with its state

    assert not await link_up(cnf, slave)
    assert 'local-disc-reason "connection fd error"' in cnf.sim.show_memif()
    await asyncio.wait_for(vswitch.client.wait_connected(), timeout=5)
    master = await _master(vswitch, host_socket)  # the agent configures the new VPP
    assert await link_up(cnf, slave)
    assert await link_up(vswitch, master)

    await cnf.sim.stop()
    assert not await link_up(vswitch, master)


async def test_simulators_of_other_memif_links_never_meet(tmp_path: Path) -> None:
    directory = pod_dir(tmp_path, "cnf1")
    async with contextlib.AsyncExitStack() as stack:
        vswitch = await start_vpp(stack, tmp_path, "vswitch", links=MemifLinks())
        cnf = await start_vpp(
            stack, tmp_path, "cnf1", mounts={POD_RUN_DIR: str(directory)}, links=MemifLinks()
        )
        master = await _master(vswitch, str(directory / "memif.sock"))
        slave = await _slave(cnf)

        assert not await link_up(vswitch, master)
        assert not await link_up(cnf, slave)
