"""Desired VPP ACLs (the acl plugin's IP ACLs) and where they are applied.

In: nothing (plain data). Out: frozen values :class:`Acl` (a named, ordered list of
:class:`AclRule`) and :class:`AclInterfaces` (one interface's ordered input and output ACL
lists, by ACL name); the descriptors in ``contivpy.descriptors.acl`` and
``contivpy.descriptors.acl_interfaces`` validate and apply them.

An ACL is identified by its name, which becomes its VPP ``tag``: VPP numbers ACLs itself
(``acl_index``) and the numbers change when VPP restarts. An interface's ACLs are one value
because VPP sets an interface's whole list in one call (``acl_interface_set_acl_list``);
the value names ACLs, never indexes, so an ACL whose rules are replaced in place (same
index) leaves every interface using it untouched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: protocol numbers a rule commonly names (any 0..255 is accepted)
PROTO_ANY = 0
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP6 = 58
PROTO_SCTP = 132

ANY_IP4 = "0.0.0.0/0"
ANY_IP6 = "::/0"


class AclAction(enum.Enum):
    """What a matching rule does (VPP's acl_action)."""

    DENY = "deny"
    PERMIT = "permit"
    #: permit, and remember the connection so its return traffic passes the same
    #: interface's ACLs in the other direction
    REFLECT = "permit+reflect"


@dataclass(frozen=True, slots=True)
class PortRange:
    """Ports ``first``..``last`` inclusive (for ICMP: type or code)."""

    first: int = 0
    last: int = 65535


ALL_PORTS = PortRange()


@dataclass(frozen=True, slots=True)
class AclRule:
    """One IP rule: a packet matches when its family is the networks' family, its source
    and destination are in ``src_network`` and ``dst_network`` and, for ``protocol`` other
    than 0 (any), its protocol is that one, its ports are in the ranges and its TCP flags
    masked by ``tcp_flags_mask`` equal ``tcp_flags_value``. Networks are "ip/len" with host
    bits clear, both of one family."""

    action: AclAction
    src_network: str = ANY_IP4
    dst_network: str = ANY_IP4
    protocol: int = PROTO_ANY
    src_ports: PortRange = ALL_PORTS
    dst_ports: PortRange = ALL_PORTS
    tcp_flags_mask: int = 0
    tcp_flags_value: int = 0


@dataclass(frozen=True, slots=True)
class Acl:
    """A named IP ACL: rules evaluated in order, the first match decides; a packet no rule
    matches is denied (wherever an ACL list is applied)."""

    name: str
    rules: tuple[AclRule, ...] = ()


@dataclass(frozen=True, slots=True)
class AclInterfaces:
    """The ACLs applied to one interface, by name and in evaluation order: ``input`` on
    traffic VPP receives on it, ``output`` on traffic VPP sends out of it. Both empty means
    no ACL at all (everything passes)."""

    interface: str
    input: tuple[str, ...] = ()
    output: tuple[str, ...] = ()
