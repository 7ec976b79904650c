"""Events of a pod's network lifecycle, pushed by the CNI server and awaited by it.

In: a CniRequest. Out (filled by the controllers while the event is processed): the pod's
IP, its CNI result, and a CNI error code when wiring failed. AddPod reverts on failure (the
kubelet calls ADD again); DeletePod ignores errors (what is left is healed by resyncs).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import ClassVar

from contivpy.cni.types import CniRequest, CniResult
from contivpy.events.types import Event, TxnPolicy


@dataclass(slots=True)
class PodOutcome:
    """What the controllers worked out for the pod (mutable: filled during processing).

    ``undo`` holds, per controller name, what that controller needs to revert its part of
    this event: kept with the event, so any event of a batch can be reverted on its own.
    """

    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    result: CniResult | None = None
    error_code: int = 0
    undo: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AddPod(Event):
    """CNI ADD: wire the pod."""

    name: ClassVar[str] = "AddPod"
    policy: ClassVar[TxnPolicy] = TxnPolicy.REVERT_ON_FAILURE
    blocking: ClassVar[bool] = True
    request: CniRequest
    outcome: PodOutcome = field(default_factory=PodOutcome)

    def describe(self) -> str:
        return f"pod {self.request.pod} container {self.request.container_id[:12]}"


@dataclass(frozen=True, eq=False)
class DeletePod(Event):
    """CNI DEL: unwire the pod (controllers run in reverse order)."""

    name: ClassVar[str] = "DeletePod"
    policy: ClassVar[TxnPolicy] = TxnPolicy.BEST_EFFORT_IGNORE_ERRORS
    blocking: ClassVar[bool] = True
    request: CniRequest

    @property
    def reverse(self) -> bool:
        return True

    def describe(self) -> str:
        return f"pod {self.request.pod} container {self.request.container_id[:12]}"
