"""CustomConfiguration items for this node's vswitch, applied by its scheduler.

In: reflected CustomConfiguration objects (resyncs and their KubeStateChanges). Out: desired
VPP values for the items whose target microservice (the item's, else the object's
``spec.microservice``) is this node's name, keyed as vpp-agent keys them (the scheduler's
keys are vpp-agent's); changes of an object put and delete exactly what it adds and drops.

Items for a CNF (its microservice label) are not this controller's: the reflector writes them
to ``/vnf-agent/<label>/config/`` for the CNF's own agent. An item this agent cannot apply (an
unknown model, bad YAML or fields, a model no vswitch descriptor takes such as a Linux
interface) is skipped with a log line naming the object, the item and the problem (the
reflector reports the same on the object's status); the object's other items are applied.
An item must not name a key contivpy renders itself (a pod's interface, ``podGwLoop``...):
the later of the two writers would win.
"""

from __future__ import annotations

import structlog
import yaml

from contivpy.controllers.base import ControllerBase
from contivpy.events.types import (
    Changes,
    Config,
    Event,
    KubeState,
    KubeStateChange,
    UpdateResult,
)
from contivpy.models.k8s_codec import CustomConfiguration
from contivpy.models.vnf_config import ModelId, VnfConfigError, decode_data, value_key
from contivpy.models.vpp_interfaces import Interface
from contivpy.models.vpp_l2 import L2FIB, BridgeDomain, XConnect
from contivpy.models.vpp_l3 import IPNeighbor, Route, VrfTable

log = structlog.get_logger(__name__)

#: what the vswitch's own descriptors apply
VSWITCH_MODELS = (Interface, VrfTable, Route, IPNeighbor, BridgeDomain, L2FIB, XConnect)


class CustomConfig(ControllerBase[None]):
    """See the module docstring."""

    name = "customconfig"

    def __init__(self, node_name: str) -> None:
        self._node = node_name
        self._keys: dict[str, set[str]] = {}  # object (namespace/name) -> keys it rendered

    def handles(self, event: Event) -> bool:
        return isinstance(event, KubeStateChange) and event.resource == "customconfiguration"

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._keys = {}
        desired: Config = {}
        for model in state.get("customconfiguration", {}).values():
            if isinstance(model, CustomConfiguration):
                values = self._render(model)
                self._keys[_id(model)] = set(values)
                desired.update(values)
        return desired

    async def update(self, event: Event) -> UpdateResult[None]:
        if not isinstance(event, KubeStateChange):
            return UpdateResult()
        model = event.new if isinstance(event.new, CustomConfiguration) else event.prev
        if not isinstance(model, CustomConfiguration):
            return UpdateResult()
        ident = _id(model)
        values = self._render(event.new) if isinstance(event.new, CustomConfiguration) else {}
        old = self._keys.pop(ident, set())
        if values:
            self._keys[ident] = set(values)
        changes: Changes = dict.fromkeys(sorted(old - set(values)))
        changes.update(values)
        if not changes:
            return UpdateResult()
        return UpdateResult(f"CustomConfiguration {ident}: {len(values)} vswitch item(s)", changes)

    def _render(self, model: CustomConfiguration) -> Config:
        values: Config = {}
        for index, item in enumerate(model.config_items):
            target = item.microservice or model.microservice
            if target != self._node:
                continue
            where = f"CustomConfiguration {_id(model)} configItems[{index}]"
            try:
                data = yaml.safe_load(item.data) if item.data.strip() else {}
                value = decode_data(
                    ModelId(item.module, item.version or "v2", item.type), data, where=where
                )
            except (yaml.YAMLError, VnfConfigError) as error:
                log.warning("custom configuration item skipped", item=where, error=str(error))
                continue
            if not isinstance(value, VSWITCH_MODELS):
                log.warning(
                    "custom configuration item skipped",
                    item=where,
                    error=f"a {type(value).__name__} is not applied to the vswitch's VPP",
                )
                continue
            values[value_key(value)] = value
        return values


def _id(model: CustomConfiguration) -> str:
    return f"{model.namespace}/{model.name}" if model.namespace else model.name
