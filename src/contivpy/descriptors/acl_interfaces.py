"""Interfaces' ACL lists (``vpp-acl-interfaces``): ``config/vpp/acls/v2/interface/<if>``.

In: :class:`~contivpy.models.vpp_acl.AclInterfaces` values (ACLs by name). Out: the
interface's whole input and output lists set in one acl_interface_set_acl_list (a change is
an update in place, never a clear and set), cleared on delete, and read back.

Dependencies: the interface and every ACL named, so the lists are set once all of them exist;
an ACL whose rules are replaced keeps its index and its interfaces (no re-bind). Metadata:
the sw_if_index the lists were set on, so they can be cleared even once the interface's
metadata is gone (VPP drops the lists of an interface it deletes: INVALID_SW_IF_INDEX on
clearing then means done).

Retrieve: every interface with at least one ACL, ACL indexes named through the ACL
descriptor's metadata (hence ``retrieve_after``). Lists are ours when desired, or when the
interface is ours and every ACL in them is ours; others (a hand-made ACL on an interface)
are obtained and left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.acl import UNTAGGED_ACL_PREFIX, AclMeta, check_acl_name
from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.indexes import MissingIndexError
from contivpy.descriptors.value_checks import check_interface_name, check_key
from contivpy.models.vpp_acl import AclInterfaces
from contivpy.models.vpp_keys import (
    ACL_INTERFACE_PREFIX,
    ACL_PREFIX,
    acl_interface_key,
    acl_key,
    interface_key,
)
from contivpy.scheduler import Dependency, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import acl as vpp_acl
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval

#: acl_interface_set_acl_list counts the ACLs of both directions in a u8
MAX_ACLS = 255


class AclInterfacesDescriptor(VppDescriptor):
    """One interface's input and output ACL lists."""

    name: ClassVar[str] = "vpp-acl-interfaces"
    key_prefix: ClassVar[str] = ACL_INTERFACE_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface", "vpp-acl")

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, AclInterfaces):
            raise InvalidValueError(
                "value", f"expected an AclInterfaces, got {type(value).__name__}"
            )
        check_interface_name("interface", value.interface)
        check_key(key, acl_interface_key(value.interface))
        for direction in ("input", "output"):
            names = getattr(value, direction)
            if not isinstance(names, tuple):
                raise InvalidValueError(direction, "expected a tuple of ACL names")
            for i, name in enumerate(names):
                check_acl_name(f"{direction}[{i}]", name)
                if name in names[:i]:
                    # VPP refuses a list naming an ACL twice in one direction
                    raise InvalidValueError(f"{direction}[{i}]", f"{name} is listed twice")
        if len(value.input) + len(value.output) > MAX_ACLS:
            raise InvalidValueError("output", f"more than {MAX_ACLS} ACLs in both lists")

    def dependencies(self, key: str, value: AclInterfaces) -> Sequence[Dependency]:
        deps = [Dependency("interface", key=interface_key(value.interface))]
        for name in dict.fromkeys((*value.input, *value.output)):
            deps.append(Dependency(f"ACL {name}", key=acl_key(name)))
        return deps

    async def create(self, key: str, value: AclInterfaces) -> int:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await self._set(sw_if_index, value)
        return sw_if_index

    async def update(self, key: str, old: AclInterfaces, new: AclInterfaces, metadata: Any) -> int:
        sw_if_index = self.interfaces.sw_if_index(new.interface)
        await self._set(sw_if_index, new)
        return sw_if_index

    async def delete(self, key: str, value: AclInterfaces, metadata: Any) -> None:
        if isinstance(metadata, int):
            sw_if_index = metadata
        else:
            sw_if_index = self.interfaces.sw_if_index(value.interface)
        try:
            await vpp_acl.set_interface_acls(self.vpp, sw_if_index, (), ())
        except VppApiError as error:
            if error.retval != Retval.INVALID_SW_IF_INDEX:
                raise  # the interface is gone, and its lists with it

    async def _set(self, sw_if_index: int, value: AclInterfaces) -> None:
        inputs = [self._acl_index(name) for name in value.input]
        outputs = [self._acl_index(name) for name in value.output]
        await vpp_acl.set_interface_acls(self.vpp, sw_if_index, inputs, outputs)

    def _acl_index(self, name: str) -> int:
        meta = self.view.metadata(acl_key(name))
        if not isinstance(meta, AclMeta):
            raise MissingIndexError(f"ACL {name!r} has no index (not in VPP yet)")
        return meta.acl_index

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        interfaces = self.interfaces.by_sw_if_index()
        names: dict[int, str] = {}
        ours: set[int] = set()
        for key in self.view.keys_with_prefix(ACL_PREFIX):
            meta = self.view.metadata(key)
            if isinstance(meta, AclMeta):
                name = key[len(ACL_PREFIX) :]
                names[meta.acl_index] = name
                if not name.startswith(UNTAGGED_ACL_PREFIX):
                    ours.add(meta.acl_index)

        def name_of(index: int) -> str:
            return names.get(index, f"{UNTAGGED_ACL_PREFIX}{index}")

        found: list[Retrieved] = []
        for lists in await vpp_acl.dump_interface_acls(self.vpp):
            known = interfaces.get(lists.sw_if_index)
            if known is None or not (lists.input or lists.output):
                continue
            interface, meta = known
            key = acl_interface_key(interface)
            value = AclInterfaces(
                interface,
                tuple(name_of(i) for i in lists.input),
                tuple(name_of(i) for i in lists.output),
            )
            all_ours = all(i in ours for i in (*lists.input, *lists.output))
            origin = Origin.NB if key in correlate or (meta.owned and all_ours) else Origin.SB
            found.append(Retrieved(key, value, lists.sw_if_index, origin))
        return found
