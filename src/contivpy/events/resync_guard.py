"""Whether the desired state a full resync built may be applied.

In: the controllers of a full resync, the transaction their results filled and the errors
they raised. Out: why it must not be applied ("" when it may). A full resync replaces the
whole desired state, so what is missing from it is deleted: one built without every
controller (one of them failed), or one a controller refuses (e.g. no base configuration on a
node with pods), would tear down what is needed. Refused, the dataplane is kept as it is, the
event fails loudly (its record and the log say why) and the loop's healing tries again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contivpy.events.types import Controller, EventTxn


def resync_refusal(
    controllers: Sequence[Controller[Any]], txn: EventTxn, errors: Sequence[str]
) -> str:
    """Why this full resync's desired state must not be applied, or ""."""
    if errors:
        return (
            "full resync not applied (the dataplane is kept as it is): not every controller "
            "built its part — " + "; ".join(errors)
        )
    reasons = []
    for controller in controllers:
        reason = controller.check_resync(txn)
        if reason:
            reasons.append(f"{controller.name}: {reason}")
    if reasons:
        return (
            f"full resync of {len(txn)} value(s) refused (the dataplane is kept as it is): "
            + "; ".join(reasons)
        )
    return ""
