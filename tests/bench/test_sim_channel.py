"""The in-process VPP simulator channel the scheduler benchmark runs the descriptors on.

In: typed VPP calls (``contivpy.vppcalls``) on a :class:`SimChannel`. Out: what the simulated
VPP holds afterwards, the replies and refusals as the socket client gives them (a refusal is
a ``VppApiError`` with VPP's retval and changes nothing), the writes it counts, and the calls
it holds in flight when it has latency.
"""

from __future__ import annotations

import asyncio

import pytest

from contivpy.bench.sim_channel import SimChannel
from contivpy.vppcalls import interfaces, loopback
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval


async def test_calls_change_the_simulated_vpp_and_dumps_read_it() -> None:
    vpp = SimChannel()
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec(mac="02:00:00:00:00:07"))
    await interfaces.set_tag(vpp, index, "lo-one")
    await interfaces.set_admin_state(vpp, index, True)

    held = vpp.state.interface(index)
    assert (held.tag, held.admin_up, held.mac) == ("lo-one", True, bytes.fromhex("020000000007"))
    (details,) = await interfaces.dump_interfaces(vpp, index)
    assert (details.tag, details.admin_up, details.mac) == ("lo-one", True, "02:00:00:00:00:07")
    assert vpp.writes == 3  # the dump is no write


async def test_a_refused_call_raises_vpps_retval_and_changes_nothing() -> None:
    vpp = SimChannel()
    before = {i.sw_if_index: i.admin_up for i in vpp.state.interfaces.values()}
    with pytest.raises(VppApiError) as refused:
        await interfaces.set_admin_state(vpp, 4242, True)
    assert refused.value.retval == Retval.INVALID_SW_IF_INDEX
    assert {i.sw_if_index: i.admin_up for i in vpp.state.interfaces.values()} == before


async def test_latency_holds_calls_in_flight_together() -> None:
    vpp = SimChannel(latency=0.01)
    await asyncio.gather(*(interfaces.dump_interfaces(vpp) for _ in range(5)))
    assert vpp.max_in_flight == 5
    assert vpp.in_flight == 0
