"""Contract of the acl plugin's calls: ACLs created, replaced in place, dumped and deleted;
interfaces' input and output lists; the retvals a real VPP 26.06 answers (index reuse, an
ACL in use, unknown indexes, bad rules, an ACL listed twice)."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.vppcalls import acl, loopback
from contivpy.vppcalls.acl import AclDetails, AclRule, Action, InterfaceAcls
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import NO_INDEX

pytestmark = pytest.mark.vpp

NET = ipaddress.ip_network
WEB = AclRule(Action.PERMIT, NET("10.1.0.0/16"), NET("0.0.0.0/0"), 6, 0, 65535, 80, 80)
DENY_ALL = AclRule(Action.DENY, NET("0.0.0.0/0"), NET("0.0.0.0/0"))
REFLECT6 = AclRule(Action.PERMIT_REFLECT, NET("fd00::/8"), NET("::/0"), 17, 1000, 2000, 53, 53)
SYN = AclRule(
    Action.PERMIT, NET("0.0.0.0/0"), NET("10.0.0.0/8"), 6, tcp_flags_mask=2, tcp_flags_value=2
)


async def _loop(vpp: VppClient) -> int:
    return await loopback.create_loopback(vpp, loopback.LoopbackSpec())


async def _retval(call: object) -> int:
    with pytest.raises(VppApiError) as refused:
        await call  # type: ignore[misc]
    return refused.value.retval


async def test_acls_read_back_replace_in_place_and_indexes_are_reused(vpp: VppClient) -> None:
    assert await acl.plugin_version(vpp) == (1, 4)
    first = await acl.add_acl(vpp, "web", [WEB, DENY_ALL])
    second = await acl.add_acl(vpp, "v6", [REFLECT6])
    empty = await acl.add_acl(vpp, "web", [])  # tags need not be unique; no rules is fine
    # by index (on a VPP that had ACLs before, freed indexes come first, in any order)
    assert await acl.dump_acls(vpp) == sorted(
        [
            AclDetails(first, "web", (WEB, DENY_ALL)),
            AclDetails(second, "v6", (REFLECT6,)),
            AclDetails(empty, "web", ()),
        ],
        key=lambda d: d.acl_index,
    )
    assert await acl.dump_acls(vpp, second) == [AclDetails(second, "v6", (REFLECT6,))]
    assert await acl.dump_acls(vpp, 7777) == []

    # replace: same index, new rules and new tag
    await acl.replace_acl(vpp, first, "syn", [SYN])
    assert await acl.dump_acls(vpp, first) == [AclDetails(first, "syn", (SYN,))]

    # a freed index is handed out again, the last freed first
    await acl.delete_acl(vpp, first)
    await acl.delete_acl(vpp, empty)
    assert await acl.add_acl(vpp, "a", []) == empty
    assert await acl.add_acl(vpp, "b", []) == first


async def test_absent_acls_and_bad_rules_are_refused(vpp: VppClient) -> None:
    assert await _retval(acl.replace_acl(vpp, 57, "x", [WEB])) == Retval.NO_SUCH_ENTRY
    assert await _retval(acl.delete_acl(vpp, 57)) == Retval.NO_SUCH_ENTRY
    mixed = AclRule(Action.PERMIT, NET("10.0.0.0/8"), NET("::/0"))
    assert await _retval(acl.add_acl(vpp, "x", [mixed])) == Retval.INVALID_SRC_ADDRESS
    upside_down = AclRule(Action.PERMIT, NET("0.0.0.0/0"), NET("0.0.0.0/0"), 6, 100, 10)
    assert await _retval(acl.add_acl(vpp, "x", [upside_down])) == Retval.INVALID_VALUE_2
    # the rules are checked before the index
    assert await _retval(acl.replace_acl(vpp, 57, "x", [mixed])) == Retval.INVALID_SRC_ADDRESS

    # host bits set: VPP refuses (the typed call cannot even send such a prefix)
    rule = WEB.fields()
    rule["src_prefix"] = {"address": {"af": 0, "un": {"ip4": bytes([10, 1, 2, 3])}}, "len": 16}
    request = {"acl_index": NO_INDEX, "tag": "x", "count": 1, "r": [rule]}
    assert await _retval(vpp.call("acl_add_replace", request)) == Retval.INVALID_SRC_ADDRESS
    rule = WEB.fields()
    rule["dst_prefix"] = {"address": {"af": 0, "un": {"ip4": bytes([10, 1, 2, 3])}}, "len": 33}
    request = {"acl_index": NO_INDEX, "tag": "x", "count": 1, "r": [rule]}
    assert await _retval(vpp.call("acl_add_replace", request)) == Retval.INVALID_DST_ADDRESS
    # nothing was made
    assert await acl.dump_acls(vpp) == []


async def test_interface_lists_read_back_and_hold_their_acls(vpp: VppClient) -> None:
    web = await acl.add_acl(vpp, "web", [WEB])
    deny = await acl.add_acl(vpp, "deny", [DENY_ALL])
    reflect = await acl.add_acl(vpp, "reflect", [REFLECT6])
    pod, other = await _loop(vpp), await _loop(vpp)

    await acl.set_interface_acls(vpp, pod, [reflect], [web, deny])
    assert await acl.dump_interface_acls(vpp, pod) == [InterfaceAcls(pod, (reflect,), (web, deny))]
    # every interface is listed, those without ACLs with empty lists
    listed = {i.sw_if_index: i for i in await acl.dump_interface_acls(vpp)}
    assert listed[0] == InterfaceAcls(0)
    assert listed[other] == InterfaceAcls(other)
    assert listed[pod] == InterfaceAcls(pod, (reflect,), (web, deny))
    assert await acl.dump_interface_acls(vpp, 999) == []

    # an ACL in use cannot go; replacing its rules keeps it applied
    assert await _retval(acl.delete_acl(vpp, reflect)) == Retval.ACL_IN_USE_INBOUND
    assert await _retval(acl.delete_acl(vpp, deny)) == Retval.ACL_IN_USE_OUTBOUND
    await acl.replace_acl(vpp, web, "web", [WEB, DENY_ALL])
    assert await acl.dump_interface_acls(vpp, pod) == [InterfaceAcls(pod, (reflect,), (web, deny))]

    # refused lists leave the old one in place
    assert await _retval(acl.set_interface_acls(vpp, 999, [web], [])) == Retval.INVALID_SW_IF_INDEX
    assert await _retval(acl.set_interface_acls(vpp, pod, [77], [])) == Retval.NO_SUCH_ENTRY
    twice = acl.set_interface_acls(vpp, pod, [], [deny, deny])
    assert await _retval(twice) == Retval.ACL_LISTED_TWICE == 1
    # one ACL in both directions is fine
    await acl.set_interface_acls(vpp, other, [deny], [deny])
    assert await acl.dump_interface_acls(vpp, pod) == [InterfaceAcls(pod, (reflect,), (web, deny))]
    # n_input above the count counts as the count
    fields = {"sw_if_index": other, "count": 1, "n_input": 2, "acls": [web]}
    await vpp.call("acl_interface_set_acl_list", fields)
    assert await acl.dump_interface_acls(vpp, other) == [InterfaceAcls(other, (web,))]

    # clearing, and deleting the interface, release the ACLs
    await acl.set_interface_acls(vpp, other, [], [])
    assert await acl.dump_interface_acls(vpp, other) == [InterfaceAcls(other)]
    await loopback.delete_loopback(vpp, pod)
    for index in (web, deny, reflect):
        await acl.delete_acl(vpp, index)
    assert await acl.dump_acls(vpp) == []
    # a new interface (perhaps at the same index) has no ACLs
    again = await _loop(vpp)
    assert await acl.dump_interface_acls(vpp, again) == [InterfaceAcls(again)]
