"""What VPP is sent when many af_packet interfaces are created at once (ten pods' ADDs in
flight): their af_packet_create_v3 requests reach one VPP one at a time, because a real VPP
26.06 sent ten back to back stopped answering (docs/PERFORMANCE.md, real node); requests of
other kinds, and creates on another VPP, are not held back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from contivpy.vppcalls.af_packet import AfPacketSpec, create_af_packet
from contivpy.vppcalls.message import Message


class _Vpp:
    """A VPP stand-in that answers after a delay and records what was in flight."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self._next = 1

    async def call(self, name: str, fields: Mapping[str, object] | None = None) -> Message:
        now = self.in_flight.get(name, 0) + 1
        self.in_flight[name] = now
        self.most_in_flight[name] = max(now, self.most_in_flight.get(name, 0))
        try:
            await asyncio.sleep(0.005)
        finally:
            self.in_flight[name] -= 1
        self._next += 1
        return Message(name + "_reply", {"retval": 0, "sw_if_index": self._next})

    async def dump(self, name: str, fields: Mapping[str, object] | None = None) -> list[Message]:
        return []


async def test_creates_on_one_vpp_are_sent_one_at_a_time() -> None:
    vpp = _Vpp()

    async def other_request(i: int) -> None:
        await vpp.call("sw_interface_set_flags", {"sw_if_index": i, "flags": 1})

    created = await asyncio.gather(
        *(create_af_packet(vpp, AfPacketSpec(f"veth{i}")) for i in range(10)),
        *(other_request(i) for i in range(10)),
    )
    assert len(set(created[:10])) == 10
    assert vpp.most_in_flight["af_packet_create_v3"] == 1
    assert vpp.most_in_flight["sw_interface_set_flags"] > 1


async def test_creates_on_two_vpps_do_not_wait_for_each_other() -> None:
    first, second = _Vpp(), _Vpp()
    started = asyncio.Event()

    async def slow_call(name: str, fields: Mapping[str, object] | None = None) -> Message:
        started.set()
        await asyncio.sleep(3600)  # never answers within the test
        raise AssertionError("unreachable")

    first.call = slow_call  # type: ignore[method-assign]
    stuck = asyncio.create_task(create_af_packet(first, AfPacketSpec("veth0")))
    await started.wait()
    # The first VPP's create is in flight and unanswered; the second VPP's goes through.
    assert await asyncio.wait_for(create_af_packet(second, AfPacketSpec("veth0")), 5) > 0
    stuck.cancel()
