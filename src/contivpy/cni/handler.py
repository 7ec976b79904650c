"""What the agent's RemoteCNI server needs from the agent: wire, unwire and check pods.

In: typed CNI requests. Out: typed results, or CniError with a CNI code. Implemented by the
agent (it turns each call into an AddPod/DeletePod event and awaits it).
"""

from __future__ import annotations

from typing import Protocol

from contivpy.cni.types import CniRequest, CniResult


class PodNetworkHandler(Protocol):
    """The agent side of the CNI calls."""

    async def add(self, request: CniRequest) -> CniResult:
        """Wire the pod; return what the CNI result reports."""

    async def delete(self, request: CniRequest) -> None:
        """Unwire the pod (idempotent)."""

    async def check(self, request: CniRequest) -> CniResult:
        """Confirm the pod is wired as reported; raise CniError when not."""
