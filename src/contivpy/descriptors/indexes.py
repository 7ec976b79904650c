"""Translation between names and VPP's indexes, through the scheduler's metadata.

In: a :class:`~contivpy.scheduler.MetadataView` (the scheduler). Out: an interface's
metadata and sw_if_index by name and every interface's name by sw_if_index
(:class:`InterfaceIndex`), the same for bridge domains and their bd_id
(:class:`BridgeDomainIndex`). The metadata itself — :class:`InterfaceMeta`,
:class:`BridgeDomainMeta` — is what the interface and bridge-domain descriptors return from
create and retrieve; nothing here replaces it.

An interface's metadata also carries what contivpy knows of its IPv4 and IPv6 tables
(:class:`FibTables`, the one mutable part): (0, 0) when contivpy created the interface (VPP
puts a new interface, one that reuses a deleted one's sw_if_index included, into table 0),
what a retrieve read, and what the VRF bindings (``interface_vrf``) applied or read since;
unknown for a NIC or an adopted leftover. Held by the metadata, it lives exactly as long as
that interface: a re-created interface, or a resync, starts from new metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contivpy.errors import RetriableError
from contivpy.models.vpp_interfaces import InterfaceType
from contivpy.models.vpp_keys import (
    BRIDGE_DOMAIN_PREFIX,
    INTERFACE_PREFIX,
    bridge_domain_key,
    interface_key,
)
from contivpy.scheduler import MetadataView


class FibTables:
    """An interface's IPv4 and IPv6 table ids as far as contivpy knows them (None: unknown,
    VPP must be asked). Changed in place by whoever moves the interface or reads its tables."""

    __slots__ = ("_ids",)

    def __init__(self, ipv4: int | None = None, ipv6: int | None = None) -> None:
        self._ids = [ipv4, ipv6]

    @classmethod
    def of_new_interface(cls) -> FibTables:
        """The tables of an interface VPP has just created: table 0 for both families."""
        return cls(0, 0)

    def get(self, ipv6: bool) -> int | None:
        """The family's table id, or None when not known."""
        return self._ids[ipv6]

    def remember(self, ipv6: bool, table: int) -> None:
        """The interface is in ``table`` for the family (VPP said so, or took the move)."""
        self._ids[ipv6] = table

    def forget(self, ipv6: bool) -> None:
        """The family's table is not known (a move under way, or one that failed)."""
        self._ids[ipv6] = None

    def __repr__(self) -> str:
        return f"FibTables(ipv4={self._ids[0]}, ipv6={self._ids[1]})"


@dataclass(frozen=True, slots=True)
class InterfaceMeta:
    """What VPP calls an interface, whether it is ours, and what is known of its tables."""

    sw_if_index: int
    #: VPP's own name (loop0, tap3, memif1/0, GigabitEthernet0/a/0)
    vpp_name: str
    type: InterfaceType
    #: carries our tag, or is a NIC we configure: objects hanging off it are ours too
    owned: bool = True
    #: the interface's tables as far as known (unknown unless told); not part of equality:
    #: a resync that finds the same interface finds the same metadata
    tables: FibTables = field(default_factory=FibTables, compare=False)


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

    def known(self, name: str) -> InterfaceMeta:
        """The metadata of an existing interface (MissingIndexError when unknown)."""
        meta = self.meta(name)
        if meta is None:
            raise MissingIndexError(f"interface {name!r} has no sw_if_index (not in VPP yet)")
        return meta

    def sw_if_index(self, name: str) -> int:
        """The sw_if_index of an existing interface (MissingIndexError when unknown)."""
        return self.known(name).sw_if_index

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
