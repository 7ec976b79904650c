"""How our links are marked in the kernel, so they are recognised after an agent restart.

In: a LinuxInterface (to tag) or a link's alias (to read), and the owner (``contivpy`` unless
several agents share a namespace, as vpp-agent's agent prefix). Out: the alias string
``<owner>:<type>:<logical name>[/<peer or VPP tap>]`` and its parse, :class:`LinkTag`; and
the temporary name of a veth end that is made but not yet configured.

The alias carries the logical name (the key), the type (so a stale EXISTING link is only
untagged on delete, never removed) and the peer or VPP tap reference (so a stale value read
back has its dependencies). A link without our owner's prefix is never ours, whatever its
alias: another agent's links (or another test run's) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.linux.keys import logical_name_problem
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType

DEFAULT_OWNER = "contivpy"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


@dataclass(frozen=True, slots=True)
class LinkTag:
    """What an alias says about a link of ours."""

    type: LinuxInterfaceType
    name: str
    reference: str  # the veth peer or the VPP tap; "" for the other types


def owner_problem(owner: str) -> str:
    """Why ``owner`` cannot prefix aliases, or ""."""
    if not owner or ":" in owner or "/" in owner or len(owner) > 64:
        return f"owner {owner!r} must be 1..64 characters without ':' or '/'"
    return ""


def link_alias(value: LinuxInterface, owner: str = DEFAULT_OWNER) -> str:
    """The alias that marks ``value``'s link as ``owner``'s."""
    reference = ""
    if value.type is LinuxInterfaceType.VETH:
        reference = value.veth_peer
    elif value.type is LinuxInterfaceType.TAP_TO_VPP:
        reference = value.vpp_tap
    alias = f"{owner}:{value.type.value}:{value.name}"
    return alias + "/" + reference if reference else alias


def parse_alias(alias: str, owner: str = DEFAULT_OWNER) -> LinkTag | None:
    """The tag in a link alias, or None when the link is not ``owner``'s."""
    prefix = owner + ":"
    if not alias.startswith(prefix):
        return None
    type_name, _, rest = alias[len(prefix) :].partition(":")
    try:
        link_type = LinuxInterfaceType(type_name)
    except ValueError:
        return None
    name, _, reference = rest.partition("/")
    if logical_name_problem(name):
        return None
    return LinkTag(link_type, name, reference)


def veth_temp_name(logical_name: str) -> str:
    """Kernel name of a veth end made with its pair but not configured yet (unique per
    logical name, at most 15 characters; FNV-1a like vpp-agent's)."""
    digest = _FNV_OFFSET
    for byte in logical_name.encode():
        digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return f"veth-{digest:08x}"
