"""A value the agent writes into a microservice's etcd subtree, as a scheduler value.

In: a microservice label, a key relative to its subtree (``config/vpp/v2/interfaces/m1``, as
``models/vnf_config.value_key`` gives it) and the stored bytes (``encode_value``). Out: the
scheduler key ``vnf-config/<label>/<relative key>`` and its value, and the etcd key the value
goes to (``/vnf-agent/<label>/<relative key>``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contivpy.models.vnf_config import microservice_prefix

#: scheduler keys of values written to microservices' etcd subtrees
VNF_CONFIG_PREFIX = "vnf-config/"


@dataclass(frozen=True, slots=True)
class VnfConfigValue:
    """One value for a microservice's agent: where it goes and its bytes (vpp-agent JSON)."""

    label: str
    relative_key: str
    data: bytes = field(repr=False)  # may hold a memif secret: never in a repr

    def __json__(self) -> dict[str, Any]:
        """What dumps show: the value as JSON, so their renderer masks its secret fields."""
        try:
            shown: object = json.loads(self.data)
        except ValueError:
            shown = f"<{len(self.data)} bytes, not JSON>"
        return {"label": self.label, "relative_key": self.relative_key, "data": shown}

    @property
    def etcd_key(self) -> str:
        """Where the microservice's agent reads it."""
        return microservice_prefix(self.label) + self.relative_key


def vnf_config_key(label: str, relative_key: str) -> str:
    """The scheduler key of a microservice's value."""
    return f"{VNF_CONFIG_PREFIX}{label}/{relative_key}"


def parse_vnf_config_key(key: str) -> tuple[str, str] | None:
    """(label, relative key) of a scheduler key, None for another key."""
    if not key.startswith(VNF_CONFIG_PREFIX):
        return None
    label, _, relative = key[len(VNF_CONFIG_PREFIX) :].partition("/")
    return (label, relative) if label and relative else None
