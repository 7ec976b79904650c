"""IP ACLs (``vpp-acl``): ``config/vpp/acls/v2/acl/<name>``.

In: :class:`~contivpy.models.vpp_acl.Acl` values. Out: ACLs created in VPP (VPP picks the
index; the name goes into the ACL's tag, which is how a resync recognises it), their rules
replaced in place (same index: the interfaces using the ACL keep it, nothing is re-bound),
deleted, and read back. Metadata: :class:`AclMeta` (the acl_index), which the interface-list
descriptor (``acl_interfaces``) turns names into indexes with.

Retrieve: an ACL whose tag is a valid ACL name is ours; any other (untagged, or tagged with
something that cannot be one of our names) is obtained as ``UNTAGGED-ACL-<index>`` and never
touched. Two ACLs with one tag (a create whose reply was lost, then retried) are both ours:
the first (lowest index) keeps the name, a later one is read as ``<name>/duplicate-<index>``
(a key no desired ACL can have), so a resync deletes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import check_key, check_network, check_range
from contivpy.models.vpp_acl import Acl, AclAction, AclRule, PortRange
from contivpy.models.vpp_keys import ACL_PREFIX, acl_key, acl_name_problem, parse_network
from contivpy.scheduler import InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import acl as vpp_acl
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval

#: how an ACL that is not ours is named
UNTAGGED_ACL_PREFIX = "UNTAGGED-ACL-"
#: what follows the name of a second ACL with the same tag
DUPLICATE_SUFFIX = "/duplicate-"

_TO_VPP_ACTION = {
    AclAction.DENY: vpp_acl.Action.DENY,
    AclAction.PERMIT: vpp_acl.Action.PERMIT,
    AclAction.REFLECT: vpp_acl.Action.PERMIT_REFLECT,
}
_FROM_VPP_ACTION = {int(v): k for k, v in _TO_VPP_ACTION.items()}


@dataclass(frozen=True, slots=True)
class AclMeta:
    """VPP's index of an ACL."""

    acl_index: int


def check_acl_name(field: str, name: str) -> None:
    """A name usable for an ACL in keys and VPP tags."""
    problem = acl_name_problem(name) if isinstance(name, str) else "must be a string"
    if problem:
        raise InvalidValueError(field, problem)


def _check_ports(field: str, ports: PortRange) -> None:
    if not isinstance(ports, PortRange):
        raise InvalidValueError(field, "expected a PortRange")
    check_range(f"{field}.first", ports.first, 0, 65535)
    check_range(f"{field}.last", ports.last, 0, 65535)
    if ports.first > ports.last:
        raise InvalidValueError(field, "first port is above the last")


def check_rule(field: str, rule: AclRule) -> None:
    """A rule VPP accepts (VPP refuses the rest with INVALID_SRC_ADDRESS, INVALID_DST_ADDRESS
    or INVALID_VALUE_2; checked here so the error names the field)."""
    if not isinstance(rule, AclRule):
        raise InvalidValueError(field, f"expected an AclRule, got {type(rule).__name__}")
    if not isinstance(rule.action, AclAction):
        raise InvalidValueError(f"{field}.action", "expected an AclAction")
    src = check_network(f"{field}.src_network", rule.src_network)
    dst = check_network(f"{field}.dst_network", rule.dst_network)
    if src.version != dst.version:
        raise InvalidValueError(f"{field}.dst_network", "not of the source network's family")
    check_range(f"{field}.protocol", rule.protocol, 0, 255)
    _check_ports(f"{field}.src_ports", rule.src_ports)
    _check_ports(f"{field}.dst_ports", rule.dst_ports)
    check_range(f"{field}.tcp_flags_mask", rule.tcp_flags_mask, 0, 255)
    check_range(f"{field}.tcp_flags_value", rule.tcp_flags_value, 0, 255)


class AclDescriptor(VppDescriptor):
    """One named ACL and its rules."""

    name: ClassVar[str] = "vpp-acl"
    key_prefix: ClassVar[str] = ACL_PREFIX

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Acl):
            raise InvalidValueError("value", f"expected an Acl, got {type(value).__name__}")
        check_acl_name("name", value.name)
        check_key(key, acl_key(value.name))
        if not isinstance(value.rules, tuple):
            raise InvalidValueError("rules", "expected a tuple of AclRule")
        for i, rule in enumerate(value.rules):
            check_rule(f"rules[{i}]", rule)

    def equivalent(self, key: str, old: Acl, new: Acl) -> bool:
        return old.name == new.name and to_vpp_rules(old) == to_vpp_rules(new)

    def needs_recreate(self, key: str, old: Any, new: Any) -> bool:
        return False  # acl_add_replace changes the rules in place

    async def create(self, key: str, value: Acl) -> AclMeta:
        return AclMeta(await vpp_acl.add_acl(self.vpp, value.name, to_vpp_rules(value)))

    async def update(self, key: str, old: Acl, new: Acl, metadata: AclMeta) -> AclMeta:
        await vpp_acl.replace_acl(self.vpp, metadata.acl_index, new.name, to_vpp_rules(new))
        return metadata

    async def delete(self, key: str, value: Acl, metadata: AclMeta) -> None:
        try:
            await vpp_acl.delete_acl(self.vpp, metadata.acl_index)
        except VppApiError as error:
            if error.retval != Retval.NO_SUCH_ENTRY:
                raise  # gone already is what was asked for

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        found: list[Retrieved] = []
        names: set[str] = set()
        for details in await vpp_acl.dump_acls(self.vpp):
            index = details.acl_index
            ours = bool(details.tag) and not acl_name_problem(details.tag)
            if not ours:
                name = f"{UNTAGGED_ACL_PREFIX}{index}"
            elif details.tag in names:
                name = f"{details.tag}{DUPLICATE_SUFFIX}{index}"
            else:
                name = details.tag
                names.add(name)
            key = acl_key(name)
            value, problem = from_vpp(name, details.rules)
            desired = correlate.get(key)
            if isinstance(desired, Acl) and not problem and self._same(desired, value):
                value = desired
            origin = Origin.NB if ours else Origin.SB
            found.append(Retrieved(key, value, AclMeta(index), origin, problem if ours else ""))
        return found

    def _same(self, desired: Acl, found: Acl) -> bool:
        try:
            return self.equivalent("", desired, found)
        except (ValueError, TypeError, KeyError, AttributeError):
            return False  # an invalid desired value: never applied


def to_vpp_rules(value: Acl) -> list[vpp_acl.AclRule]:
    """The rules as VPP carries them (networks parsed: equal for equal networks)."""
    return [
        vpp_acl.AclRule(
            action=_TO_VPP_ACTION[rule.action],
            src=parse_network(rule.src_network),
            dst=parse_network(rule.dst_network),
            proto=rule.protocol,
            src_first=rule.src_ports.first,
            src_last=rule.src_ports.last,
            dst_first=rule.dst_ports.first,
            dst_last=rule.dst_ports.last,
            tcp_flags_mask=rule.tcp_flags_mask,
            tcp_flags_value=rule.tcp_flags_value,
        )
        for rule in value.rules
    ]


def from_vpp(name: str, rules: Sequence[vpp_acl.AclRule]) -> tuple[Acl, str]:
    """The value an ACL read back stands for, and why it cannot be read ("" when it can:
    an action contivpy does not know makes it unreadable)."""
    out: list[AclRule] = []
    for i, rule in enumerate(rules):
        action = _FROM_VPP_ACTION.get(rule.action)
        if action is None:
            return Acl(name, tuple(out)), f"rule {i} has action {rule.action}"
        out.append(
            AclRule(
                action=action,
                src_network=str(rule.src),
                dst_network=str(rule.dst),
                protocol=rule.proto,
                src_ports=PortRange(rule.src_first, rule.src_last),
                dst_ports=PortRange(rule.dst_first, rule.dst_last),
                tcp_flags_mask=rule.tcp_flags_mask,
                tcp_flags_value=rule.tcp_flags_value,
            )
        )
    return Acl(name, tuple(out)), ""
