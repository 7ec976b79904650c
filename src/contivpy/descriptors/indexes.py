"""Read-only translation between names and VPP's indexes, through the scheduler's metadata.

In: a :class:`~contivpy.scheduler.MetadataView` (the scheduler). Out: an interface's
sw_if_index by name and every interface's name by sw_if_index (:class:`InterfaceIndex`), the
same for bridge domains and their bd_id (:class:`BridgeDomainIndex`). The metadata itself —
:class:`InterfaceMeta`, :class:`BridgeDomainMeta` — is what the interface and bridge-domain
descriptors return from create and retrieve; nothing here writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.errors import RetriableError
from contivpy.models.vpp_interfaces import InterfaceType
from contivpy.models.vpp_keys import (
    BRIDGE_DOMAIN_PREFIX,
    INTERFACE_PREFIX,
    bridge_domain_key,
    interface_key,
)
from contivpy.scheduler import MetadataView


@dataclass(frozen=True, slots=True)
class InterfaceMeta:
    """What VPP calls an interface and whether it is ours."""

    sw_if_index: int
    #: VPP's own name (loop0, tap3, memif1/0, GigabitEthernet0/a/0)
    vpp_name: str
    type: InterfaceType
    #: carries our tag, or is a NIC we configure: objects hanging off it are ours too
    owned: bool = True


@dataclass(frozen=True, slots=True)
class BridgeDomainMeta:
    """VPP's id of a bridge domain."""

    bd_id: int


class MissingIndexError(RetriableError):
    """An object's VPP index is not known (yet): it has not been created or retrieved."""


class InterfaceIndex:
    """Interface name <-> sw_if_index, from the interface descriptor's metadata."""

    def __init__(self, view: MetadataView) -> None:
        self._view = view

    def meta(self, name: str) -> InterfaceMeta | None:
        """The metadata of an existing interface, or None."""
        meta = self._view.metadata(interface_key(name))
        return meta if isinstance(meta, InterfaceMeta) else None

    def sw_if_index(self, name: str) -> int:
        """The sw_if_index of an existing interface (MissingIndexError when unknown)."""
        meta = self.meta(name)
        if meta is None:
            raise MissingIndexError(f"interface {name!r} has no sw_if_index (not in VPP yet)")
        return meta.sw_if_index

    def by_sw_if_index(self) -> dict[int, tuple[str, InterfaceMeta]]:
        """Every existing interface: sw_if_index -> (name, metadata)."""
        out: dict[int, tuple[str, InterfaceMeta]] = {}
        for key in self._view.keys_with_prefix(INTERFACE_PREFIX):
            meta = self._view.metadata(key)
            if isinstance(meta, InterfaceMeta):
                out[meta.sw_if_index] = (key[len(INTERFACE_PREFIX) :], meta)
        return out


class BridgeDomainIndex:
    """Bridge-domain name <-> bd_id, from the bridge-domain descriptor's metadata."""

    def __init__(self, view: MetadataView) -> None:
        self._view = view

    def bd_id(self, name: str) -> int:
        """The bd_id of an existing bridge domain (MissingIndexError when unknown)."""
        meta = self._view.metadata(bridge_domain_key(name))
        if not isinstance(meta, BridgeDomainMeta):
            raise MissingIndexError(f"bridge domain {name!r} has no bd_id (not in VPP yet)")
        return meta.bd_id

    def names_by_id(self) -> dict[int, str]:
        """Every existing bridge domain: bd_id -> name."""
        out: dict[int, str] = {}
        for key in self._view.keys_with_prefix(BRIDGE_DOMAIN_PREFIX):
            meta = self._view.metadata(key)
            if isinstance(meta, BridgeDomainMeta):
                out[meta.bd_id] = key[len(BRIDGE_DOMAIN_PREFIX) :]
        return out
