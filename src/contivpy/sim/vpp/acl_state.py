"""The acl plugin's state in one simulated VPP run: ACLs by index, interfaces' ACL lists,
and the reflect sessions permit+reflect rules made.

In: operations from the acl handlers (add or replace, delete, set an interface's lists) and
from :class:`~contivpy.sim.vpp.state.VppState` (an interface deleted). Out: what acl_dump
and acl_interface_list_dump report, and the lists and sessions the packet walk evaluates.

Rules kept from a real VPP 26.06 (see ``contivpy.vppcalls.acl``): ACL indexes come from a
pool (lowest never-used index, a freed one reused, the last freed first); an ACL an
interface uses cannot be deleted (input use is reported before output use); a refused
interface list leaves the old one; deleting an interface drops its lists and sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contivpy.sim.vpp.model import SimError
from contivpy.vppcalls.acl import AclRule
from contivpy.vppcalls.retvals import Retval


@dataclass
class SimAcl:
    """One ACL: its tag and rules."""

    tag: str
    rules: tuple[AclRule, ...]


@dataclass(frozen=True)
class FlowKey:
    """A reflect session's key on one interface, in the direction of the packet that made
    it as seen on input: the same key matches that flow's later input packets and its
    replies' output packets (and the other way round for a session made on output)."""

    sw_if_index: int
    proto: int
    src: object
    dst: object
    src_port: int
    dst_port: int


@dataclass
class AclState:
    """Everything the acl plugin holds; gone on restart (a new VppState)."""

    acls: dict[int, SimAcl] = field(default_factory=dict)
    #: sw_if_index -> (input ACL indexes, output ACL indexes); only non-empty lists
    lists: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    sessions: set[FlowKey] = field(default_factory=set)
    _free: list[int] = field(default_factory=list)
    _next: int = 0

    def add(self, tag: str, rules: Sequence[AclRule]) -> int:
        """A new ACL; its index."""
        if self._free:
            index = self._free.pop()
        else:
            index = self._next
            self._next += 1
        self.acls[index] = SimAcl(tag, tuple(rules))
        return index

    def replace(self, index: int, tag: str, rules: Sequence[AclRule]) -> None:
        """New rules and tag for an existing ACL (NO_SUCH_ENTRY when there is none)."""
        if index not in self.acls:
            raise SimError(Retval.NO_SUCH_ENTRY, f"no ACL {index}")
        self.acls[index] = SimAcl(tag, tuple(rules))

    def delete(self, index: int) -> None:
        """Delete an ACL no interface uses."""
        if index not in self.acls:
            raise SimError(Retval.NO_SUCH_ENTRY, f"no ACL {index}")
        if any(index in inputs for inputs, _ in self.lists.values()):
            raise SimError(Retval.ACL_IN_USE_INBOUND, f"ACL {index} is applied on input")
        if any(index in outputs for _, outputs in self.lists.values()):
            raise SimError(Retval.ACL_IN_USE_OUTBOUND, f"ACL {index} is applied on output")
        del self.acls[index]
        self._free.append(index)

    def set_lists(self, sw_if_index: int, inputs: Sequence[int], outputs: Sequence[int]) -> None:
        """Replace the interface's lists (the interface is known to exist)."""
        for index in (*inputs, *outputs):
            if index not in self.acls:
                raise SimError(Retval.NO_SUCH_ENTRY, f"no ACL {index}")
        for direction in (inputs, outputs):
            if len(set(direction)) != len(direction):
                raise SimError(Retval.ACL_LISTED_TWICE, "an ACL is listed twice")
        if inputs or outputs:
            self.lists[sw_if_index] = (tuple(inputs), tuple(outputs))
        else:
            self.interface_gone(sw_if_index)

    def lists_of(self, sw_if_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(input, output) ACL indexes of the interface."""
        return self.lists.get(sw_if_index, ((), ()))

    def interface_gone(self, sw_if_index: int) -> None:
        """The interface was deleted (or lost all its ACLs): its lists and sessions go."""
        self.lists.pop(sw_if_index, None)
        self.sessions = {s for s in self.sessions if s.sw_if_index != sw_if_index}
