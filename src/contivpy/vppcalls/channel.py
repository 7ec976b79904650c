"""What the typed VPP calls need from a connection: send a request, run a dump.

In/out: message names and fields in, decoded replies or details out. Both
:class:`~contivpy.vppcalls.connection.VppConnection` (one socket) and
:class:`~contivpy.vppcalls.client.VppClient` (reconnecting) provide it, so each domain module
(``interfaces``, ``routes``, ``bridge_domains``…) works with either, and with a fake in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from contivpy.vppcalls.message import Message


class ApiChannel(Protocol):
    """Something that can call VPP."""

    async def call(self, name: str, fields: Mapping[str, object] | None = None) -> Message:
        """Send ``name`` and return its reply; VppApiError for a non-zero retval."""
        ...

    async def dump(self, name: str, fields: Mapping[str, object] | None = None) -> list[Message]:
        """Run the dump ``name`` and return its details."""
        ...
