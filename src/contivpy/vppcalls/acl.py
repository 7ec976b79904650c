"""The acl plugin's IP ACLs and the interfaces they are applied to.

In: :class:`AclRule` lists with a tag, ACL indexes, an interface's input and output index
lists. Out: ``acl_index`` VPP assigned, acl_dump as :class:`AclDetails`,
acl_interface_list_dump as :class:`InterfaceAcls`, the plugin's version.

As a real VPP 26.06 answers (acl plugin 1.4):

- acl_add_replace with index ~0 creates an ACL at the lowest index VPP's pool hands out (a
  freed index is reused, the last freed first); with an index replaces that ACL's rules *and
  tag* in place (interfaces using it keep it); an index VPP does not have is NO_SUCH_ENTRY.
  A rule whose prefixes are of two families, longer than the family allows or with host bits
  set is INVALID_SRC_ADDRESS (the source) or INVALID_DST_ADDRESS; a port range whose first
  port is above its last is INVALID_VALUE_2. Tags need not be unique. An ACL may have no rules.
- acl_del of an unknown index is NO_SUCH_ENTRY; of an ACL an interface still uses
  ACL_IN_USE_INBOUND (an input list names it) or ACL_IN_USE_OUTBOUND.
- acl_interface_set_acl_list replaces the interface's whole list (``n_input`` first are
  input, the rest output; an ``n_input`` above the count counts as the count); an unknown
  interface is INVALID_SW_IF_INDEX, an unknown ACL NO_SUCH_ENTRY, an ACL twice in one
  direction ACL_LISTED_TWICE (1); a refused list leaves the old one in place. Deleting an
  interface drops its lists.
- acl_dump lists ACLs by index; acl_interface_list_dump lists *every* interface (empty lists
  included), by sw_if_index; filtered by an unknown sw_if_index it lists nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import NO_INDEX, IpNetwork, prefix_from_wire, prefix_to_wire


class Action(enum.IntEnum):
    """acl_action."""

    DENY = 0
    PERMIT = 1
    PERMIT_REFLECT = 2


@dataclass(frozen=True)
class AclRule:
    """An acl_rule as VPP carries it (``proto`` 0: any protocol, ports then ignored)."""

    action: int
    src: IpNetwork
    dst: IpNetwork
    proto: int = 0
    src_first: int = 0
    src_last: int = 65535
    dst_first: int = 0
    dst_last: int = 65535
    tcp_flags_mask: int = 0
    tcp_flags_value: int = 0

    def fields(self) -> dict[str, object]:
        """The rule as an acl_rule struct."""
        return {
            "is_permit": self.action,
            "src_prefix": prefix_to_wire(self.src),
            "dst_prefix": prefix_to_wire(self.dst),
            "proto": self.proto,
            "srcport_or_icmptype_first": self.src_first,
            "srcport_or_icmptype_last": self.src_last,
            "dstport_or_icmpcode_first": self.dst_first,
            "dstport_or_icmpcode_last": self.dst_last,
            "tcp_flags_mask": self.tcp_flags_mask,
            "tcp_flags_value": self.tcp_flags_value,
        }

    @classmethod
    def from_message(cls, rule: Message) -> AclRule:
        """From an acl_rule struct (of acl_details or a request)."""
        return cls(
            action=rule.get_int("is_permit"),
            src=prefix_from_wire(rule.get_struct("src_prefix")),
            dst=prefix_from_wire(rule.get_struct("dst_prefix")),
            proto=rule.get_int("proto"),
            src_first=rule.get_int("srcport_or_icmptype_first"),
            src_last=rule.get_int("srcport_or_icmptype_last"),
            dst_first=rule.get_int("dstport_or_icmpcode_first"),
            dst_last=rule.get_int("dstport_or_icmpcode_last"),
            tcp_flags_mask=rule.get_int("tcp_flags_mask"),
            tcp_flags_value=rule.get_int("tcp_flags_value"),
        )


@dataclass(frozen=True)
class AclDetails:
    """One ACL as acl_dump reports it."""

    acl_index: int
    tag: str
    rules: tuple[AclRule, ...]


@dataclass(frozen=True)
class InterfaceAcls:
    """One interface's ACL lists, by ACL index, in evaluation order."""

    sw_if_index: int
    input: tuple[int, ...] = ()
    output: tuple[int, ...] = ()


def _add_replace(acl_index: int, tag: str, rules: Sequence[AclRule]) -> dict[str, object]:
    return {
        "acl_index": acl_index,
        "tag": tag,
        "count": len(rules),
        "r": [rule.fields() for rule in rules],
    }


async def add_acl(vpp: ApiChannel, tag: str, rules: Sequence[AclRule]) -> int:
    """Create an ACL; the index VPP gave it."""
    reply = await vpp.call("acl_add_replace", _add_replace(NO_INDEX, tag, rules))
    return reply.get_int("acl_index")


async def replace_acl(vpp: ApiChannel, acl_index: int, tag: str, rules: Sequence[AclRule]) -> None:
    """Replace the rules and tag of the ACL at ``acl_index`` (it keeps its index and the
    interfaces using it)."""
    await vpp.call("acl_add_replace", _add_replace(acl_index, tag, rules))


async def delete_acl(vpp: ApiChannel, acl_index: int) -> None:
    """Delete an ACL no interface uses."""
    await vpp.call("acl_del", {"acl_index": acl_index})


async def dump_acls(vpp: ApiChannel, acl_index: int | None = None) -> list[AclDetails]:
    """Every ACL (by index), or the one at ``acl_index`` (none when it does not exist)."""
    details = await vpp.dump(
        "acl_dump", {"acl_index": NO_INDEX if acl_index is None else acl_index}
    )
    return [
        AclDetails(
            d.get_int("acl_index"),
            d.get_str("tag"),
            tuple(AclRule.from_message(r) for r in d.get_structs("r")),
        )
        for d in details
    ]


async def set_interface_acls(
    vpp: ApiChannel, sw_if_index: int, input: Sequence[int], output: Sequence[int]
) -> None:
    """Make these the interface's input and output ACL lists (both empty: none)."""
    acls = [*input, *output]
    await vpp.call(
        "acl_interface_set_acl_list",
        {"sw_if_index": sw_if_index, "count": len(acls), "n_input": len(input), "acls": acls},
    )


def _interface_acls(details: Message) -> InterfaceAcls:
    acls = details.get_ints("acls")[: details.get_int("count")]
    n_input = min(details.get_int("n_input"), len(acls))
    return InterfaceAcls(
        details.get_int("sw_if_index"), tuple(acls[:n_input]), tuple(acls[n_input:])
    )


async def dump_interface_acls(
    vpp: ApiChannel, sw_if_index: int | None = None
) -> list[InterfaceAcls]:
    """The ACL lists of every interface (empty ones included), or of one."""
    fields = {"sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index}
    return [_interface_acls(d) for d in await vpp.dump("acl_interface_list_dump", fields)]


async def plugin_version(vpp: ApiChannel) -> tuple[int, int]:
    """The acl plugin's (major, minor) version (VPP 26.06: 1.4)."""
    reply = await vpp.call("acl_plugin_get_version")
    return reply.get_int("major"), reply.get_int("minor")
