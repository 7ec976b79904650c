"""The simulator speaks VPP's protocol: an unmodified vpp_papi client works against it.

vpp_papi's client is synchronous (threads and blocking sockets), so each scenario runs in a
worker thread while the simulator serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from importlib import resources
from typing import Any

import pytest
from vpp_papi import VPPApiClient

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.retvals import Retval


def _api_files() -> list[str]:
    memclnt = resources.files("vpp_papi.data").joinpath("memclnt.api.json")
    own = resources.files("contivpy.vppcalls").joinpath("definitions")
    return [str(memclnt), *sorted(str(p) for p in own.iterdir() if p.name.endswith(".api.json"))]


def _papi_session(socket_path: str, bootstrap: bool) -> dict[str, Any]:
    """Connect with vpp_papi, make calls, collect what came back."""
    with warnings.catch_warnings():
        # vpp_papi's bootstrap reads its bundled file with an API Python 3.11 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        client = VPPApiClient(
            apifiles=None if bootstrap else _api_files(),
            server_address=socket_path,
            bootstrapapi=bootstrap,
            read_timeout=5,
        )
        events: list[Any] = []
        arrived = threading.Event()

        def on_event(name: str, msg: Any) -> None:
            events.append((name, msg))
            arrived.set()

        client.register_event_callback(on_event)
        client.connect("papi-test")
    try:
        api = client.api
        out: dict[str, Any] = {"version": api.show_version().version}
        out["ping"] = api.control_ping()
        loop = api.create_loopback_instance(is_specified=True, user_instance=7)
        out["loop"] = loop
        api.want_interface_events(enable_disable=1, pid=4242)
        api.sw_interface_set_flags(sw_if_index=loop.sw_if_index, flags=1)
        api.sw_interface_add_del_address(
            sw_if_index=loop.sw_if_index, is_add=True, prefix="10.9.8.7/24"
        )
        out["interfaces"] = api.sw_interface_dump()
        out["addresses"] = api.ip_address_dump(sw_if_index=loop.sw_if_index, is_ipv6=False)
        out["bad_delete"] = api.delete_loopback(sw_if_index=999)
        out["route"] = api.ip_route_add_del(
            is_add=True,
            route={
                "table_id": 0,
                "prefix": "10.20.0.0/16",
                "n_paths": 1,
                "paths": [{"sw_if_index": loop.sw_if_index, "label_stack": [{}] * 16}],
            },
        )
        out["routes"] = api.ip_route_dump(table={"table_id": 0, "is_ip6": False})
        arrived.wait(5)
        out["events"] = events
        return out
    finally:
        client.disconnect()


@pytest.mark.parametrize("bootstrap", [False, True], ids=["apifiles", "bootstrapapi"])
async def test_unmodified_vpp_papi_client_calls_dumps_and_gets_events(
    sim: VppSimulator, bootstrap: bool
) -> None:
    out = await asyncio.to_thread(_papi_session, sim.socket_path, bootstrap)

    assert out["version"].startswith("26.06")
    assert out["ping"].vpe_pid == sim.pid
    assert out["loop"].retval == 0
    names = [d.interface_name for d in out["interfaces"]]
    assert names == ["local0", "GigabitEthernet0/a/0", "loop7"]
    loop7 = out["interfaces"][-1]
    assert str(loop7.l2_address) == "de:ad:00:00:00:07"
    assert [str(a.prefix) for a in out["addresses"]] == ["10.9.8.7/24"]
    assert out["bad_delete"].retval == Retval.INVALID_SW_IF_INDEX
    assert out["route"].retval == 0
    prefixes = {str(r.route.prefix) for r in out["routes"]}
    assert {"10.20.0.0/16", "10.9.8.0/24", "10.9.8.7/32", "0.0.0.0/0"} <= prefixes
    (name, event), *_ = out["events"]
    assert name == "sw_interface_event"
    assert (event.sw_if_index, event.pid, int(event.flags)) == (out["loop"].sw_if_index, 4242, 3)
    # and the simulator holds what the client made
    assert sim.state.by_name("loop7") is not None
