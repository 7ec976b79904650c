"""The benchmarks' simulator process: it starts, answers the control operations the
benchmarks rely on (``requests``, ``summary``, ``restart``), and goes away when stopped.

In: nothing. Out: assertions on a real ``contivpy vppsim`` child process.
"""

from __future__ import annotations

import os

from contivpy.bench.sim_process import sim_process
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.loopback import LoopbackSpec, create_loopback


async def test_a_simulator_process_counts_writes_and_summarises_its_state() -> None:
    async with sim_process() as sim:
        assert _exists(sim.socket_path)
        assert await sim.writes() == 0
        async with VppClient(sim.socket_path) as client:
            index = await create_loopback(client, LoopbackSpec())
            await client.call("sw_interface_set_flags", {"sw_if_index": index, "flags": 1})
        assert await sim.writes() == 2
        summary = await sim.summary()
        names = {i["name"]: i for i in summary["interfaces"]}
        assert set(names) == {"local0", "GigabitEthernet0/a/0", "loop0"}
        assert names["loop0"]["admin_up"] is True
        await sim.request("restart")  # state lost; the request count stays the process's
        assert [i["name"] for i in (await sim.summary())["interfaces"]] == [
            "local0",
            "GigabitEthernet0/a/0",
        ]
        assert await sim.writes() == 2
        pid = sim.os_pid
    assert not _exists(f"/proc/{pid}")  # stopped and reaped


def _exists(path: str) -> bool:
    return os.path.exists(path)
