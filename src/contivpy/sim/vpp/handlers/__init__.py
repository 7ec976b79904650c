"""What the simulated VPP does with each API request.

In: a decoded request and the :class:`~contivpy.sim.vpp.state.VppState`. Out: the reply's
fields (``retval`` 0 unless given) or, for a dump, one field dict per details message. A
handler refuses by raising :class:`~contivpy.sim.vpp.model.SimError`; the server turns that
into a reply carrying the retval. Handlers know nothing of sockets, contexts or message ids.
"""

from __future__ import annotations

from collections.abc import Callable

from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message

Fields = dict[str, object]
Handler = Callable[[VppState, Message], Fields | list[Fields]]


def all_handlers() -> dict[str, Handler]:
    """Every request the simulator answers, by message name."""
    from contivpy.sim.vpp.handlers import (
        acl,
        cli,
        interface_config,
        interface_dumps,
        interface_kinds,
        ip_routing,
        l2,
        memif,
        nat44,
        proxy_arp,
        vxlan,
    )

    modules = (
        interface_kinds,
        memif,
        vxlan,
        interface_config,
        interface_dumps,
        ip_routing,
        proxy_arp,
        l2,
        acl,
        nat44,
        cli,
    )
    handlers: dict[str, Handler] = {}
    for module in modules:
        overlap = handlers.keys() & module.HANDLERS.keys()
        assert not overlap, f"handled twice: {overlap}"
        handlers.update(module.HANDLERS)
    return handlers
