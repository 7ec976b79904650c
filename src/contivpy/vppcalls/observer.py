"""What a VPP connection tells an observer about its calls (the agent's metrics listen).

In: nothing (a protocol; a leaf module). Out: ``CallObserver``, which a
:class:`~contivpy.vppcalls.connection.VppConnection` (and the
:class:`~contivpy.vppcalls.client.VppClient` that makes them) is given at construction: every
answered request or dump is reported with its message name and its latency, every failed one
with its message name and why: VPP's retval ("-2") or "timeout" / "disconnected". Without an
observer (the default) nothing is measured: the call path stays as cheap as it was.
"""

from __future__ import annotations

from typing import Protocol


class CallObserver(Protocol):
    """Told of each call's outcome (see the module docstring). Must not raise, nor block."""

    def call_answered(self, message: str, seconds: float) -> None:
        """``message`` was answered (any retval) ``seconds`` after it was sent."""
        ...

    def call_failed(self, message: str, error: str) -> None:
        """``message`` failed: a non-zero retval raised (``error`` is the retval, "-2"),
        or "timeout" (no answer in time) or "disconnected" (the connection was lost)."""
        ...
