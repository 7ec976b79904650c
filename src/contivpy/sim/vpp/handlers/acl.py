"""The acl plugin: IP ACLs and interfaces' ACL lists.

In: acl_plugin_get_version, acl_add_replace, acl_del, acl_dump, acl_interface_set_acl_list,
acl_interface_list_dump. Out: replies and details, with a real VPP 26.06's answers (its
semantics are listed in ``contivpy.vppcalls.acl``; the state in ``sim.vpp.acl_state``):

- each rule is checked before the index: prefixes of two families, a length beyond the
  family's or host bits set are INVALID_SRC_ADDRESS (source, and the family mismatch) or
  INVALID_DST_ADDRESS; a port range upside down INVALID_VALUE_2. The reply carries the index
  asked for (~0 for a refused create);
- the interface is checked before the ACLs of a list; ``n_input`` above the count is the count;
- acl_interface_list_dump answers for every interface VPP has.
"""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.acl import AclRule
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import AF_IP6, NO_INDEX, union_from_wire

#: acl_plugin_get_version of VPP 26.06
PLUGIN_VERSION = (1, 4)


def _checked_prefix(prefix: Message, ip6: bool, retval: Retval) -> None:
    """A prefix of the rule's family with host bits clear, else SimError(retval)."""
    address = prefix.get_struct("address")
    length = prefix.get_int("len")
    if (address.get_int("af") == AF_IP6) != ip6 or length > (128 if ip6 else 32):
        raise SimError(retval, "prefix of another family or too long")
    ip = union_from_wire(address.get_struct("un"), ip6)
    try:
        ipaddress.ip_network((ip, length), strict=True)
    except ValueError:
        raise SimError(retval, f"{ip}/{length} has host bits set") from None


def _family(prefix: Message) -> int:
    return prefix.get_struct("address").get_int("af")


def _checked_rule(rule: Message) -> AclRule:
    if _family(rule.get_struct("src_prefix")) != _family(rule.get_struct("dst_prefix")):
        raise SimError(Retval.INVALID_SRC_ADDRESS, "source and destination of two families")
    ip6 = _family(rule.get_struct("src_prefix")) == AF_IP6
    _checked_prefix(rule.get_struct("src_prefix"), ip6, Retval.INVALID_SRC_ADDRESS)
    _checked_prefix(rule.get_struct("dst_prefix"), ip6, Retval.INVALID_DST_ADDRESS)
    parsed = AclRule.from_message(rule)
    if parsed.src_first > parsed.src_last or parsed.dst_first > parsed.dst_last:
        raise SimError(Retval.INVALID_VALUE_2, "port range upside down")
    return parsed


def acl_plugin_get_version(state: VppState, msg: Message) -> Fields:
    return {"major": PLUGIN_VERSION[0], "minor": PLUGIN_VERSION[1]}


def acl_add_replace(state: VppState, msg: Message) -> Fields:
    index = msg.get_int("acl_index")
    try:
        rules = [_checked_rule(r) for r in msg.get_structs("r")]
        if index == NO_INDEX:
            index = state.acl.add(msg.get_str("tag"), rules)
        else:
            state.acl.replace(index, msg.get_str("tag"), rules)
    except SimError as err:
        # the reply still carries an index: the one asked for
        return {"retval": int(err.retval), "acl_index": index}
    return {"acl_index": index}


def acl_del(state: VppState, msg: Message) -> Fields:
    state.acl.delete(msg.get_int("acl_index"))
    return {}


def acl_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("acl_index")
    return [
        {
            "acl_index": index,
            "tag": acl.tag,
            "count": len(acl.rules),
            "r": [rule.fields() for rule in acl.rules],
        }
        for index, acl in sorted(state.acl.acls.items())
        if wanted in (NO_INDEX, index)
    ]


def acl_interface_set_acl_list(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    acls = msg.get_ints("acls")[: msg.get_int("count")]
    n_input = min(msg.get_int("n_input"), len(acls))
    state.acl.set_lists(iface.sw_if_index, acls[:n_input], acls[n_input:])
    return {}


def acl_interface_list_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    out: list[Fields] = []
    for index in sorted(state.interfaces):
        if wanted not in (NO_INDEX, index):
            continue
        inputs, outputs = state.acl.lists_of(index)
        acls = [*inputs, *outputs]
        out.append({"sw_if_index": index, "count": len(acls), "n_input": len(inputs), "acls": acls})
    return out


HANDLERS: dict[str, Handler] = {
    "acl_plugin_get_version": acl_plugin_get_version,
    "acl_add_replace": acl_add_replace,
    "acl_del": acl_del,
    "acl_dump": acl_dump,
    "acl_interface_set_acl_list": acl_interface_set_acl_list,
    "acl_interface_list_dump": acl_interface_list_dump,
}
