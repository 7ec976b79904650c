"""Bridge domains (bridge_domain_add_del_v2) and their member interfaces.

In: :class:`BridgeDomain` settings, :class:`BridgeDomainPort` memberships. Out:
bridge_domain_dump as :class:`BridgeDomainDetails` (settings, BVI, members with their
split-horizon groups). Ids VPP picks (bd_id ~0) are random and large (e.g. 7271263): never
assume small ones; bridge domain 0 is VPP's (adding it is BD_ALREADY_EXISTS). Only one BVI
per domain; a domain with members cannot be deleted; putting an interface into a domain VPP
does not have creates that domain with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import NO_INDEX

PORT_NORMAL = 0
PORT_BVI = 1


@dataclass(frozen=True)
class BridgeDomain:
    """A bridge domain's settings as VPP's API carries them, in the add request and in the
    details alike (the simulator keeps a domain's settings as this too).

    Not :class:`contivpy.models.BridgeDomain`, and on purpose: that one is a desired value,
    named by the user and listing its members by interface name; this one is what VPP knows,
    identified by VPP's ``bd_id`` with the name only as a ``tag``, its members a separate
    matter (``sw_interface_set_l2_bridge``). The bridge-domain descriptor converts between
    the two.
    """

    bd_id: int
    flood: bool = True
    uu_flood: bool = True
    forward: bool = True
    learn: bool = True
    arp_term: bool = False
    arp_ufwd: bool = False
    mac_age: int = 0
    tag: str = ""

    def fields(self) -> dict[str, object]:
        """The settings as message fields (of bridge_domain_add_del_v2 and _details)."""
        return {
            "bd_id": self.bd_id,
            "flood": self.flood,
            "uu_flood": self.uu_flood,
            "forward": self.forward,
            "learn": self.learn,
            "arp_term": self.arp_term,
            "arp_ufwd": self.arp_ufwd,
            "mac_age": self.mac_age,
            "bd_tag": self.tag,
        }

    @classmethod
    def from_message(cls, msg: Message) -> BridgeDomain:
        """From bridge_domain_details (or the add request: the same fields)."""
        return cls(
            bd_id=msg.get_int("bd_id"),
            flood=msg.get_bool("flood"),
            uu_flood=msg.get_bool("uu_flood"),
            forward=msg.get_bool("forward"),
            learn=msg.get_bool("learn"),
            arp_term=msg.get_bool("arp_term"),
            arp_ufwd=msg.get_bool("arp_ufwd"),
            mac_age=msg.get_int("mac_age"),
            tag=msg.get_str("bd_tag"),
        )


@dataclass(frozen=True)
class BridgeDomainPort:
    """An interface's place in a bridge domain."""

    sw_if_index: int
    bd_id: int
    bvi: bool = False
    #: split-horizon group: members of one non-zero group do not forward to each other
    shg: int = 0


@dataclass(frozen=True)
class BridgeDomainMember:
    """A member as the dump lists it. The dump names the BVI once per domain
    (``BridgeDomainDetails.bvi_sw_if_index``), not per member as a :class:`BridgeDomainPort`
    (the request) does."""

    sw_if_index: int
    shg: int


@dataclass(frozen=True)
class BridgeDomainDetails:
    """A bridge domain as VPP reports it; members in the order they joined."""

    domain: BridgeDomain
    bvi_sw_if_index: int | None
    members: tuple[BridgeDomainMember, ...]

    @classmethod
    def from_message(cls, msg: Message) -> BridgeDomainDetails:
        """From bridge_domain_details."""
        bvi = msg.get_int("bvi_sw_if_index")
        return cls(
            domain=BridgeDomain.from_message(msg),
            bvi_sw_if_index=None if bvi == NO_INDEX else bvi,
            members=tuple(
                BridgeDomainMember(m.get_int("sw_if_index"), m.get_int("shg"))
                for m in msg.get_structs("sw_if_details")
            ),
        )


async def add_bridge_domain(vpp: ApiChannel, domain: BridgeDomain) -> int:
    """Create the bridge domain; its id (VPP's pick when ``bd_id`` is ~0)."""
    reply = await vpp.call("bridge_domain_add_del_v2", {**domain.fields(), "is_add": True})
    return reply.get_int("bd_id")


async def delete_bridge_domain(vpp: ApiChannel, bd_id: int) -> None:
    """Delete an empty bridge domain."""
    await vpp.call("bridge_domain_add_del_v2", {"bd_id": bd_id, "is_add": False})


async def dump_bridge_domains(
    vpp: ApiChannel, bd_id: int | None = None
) -> list[BridgeDomainDetails]:
    """Every bridge domain, or one. (VPP 26.06 answers a dump filtered by sw_if_index with
    nothing at all, so there is no such filter here: look for the member in the details.)"""
    fields = {"bd_id": NO_INDEX if bd_id is None else bd_id, "sw_if_index": NO_INDEX}
    details = await vpp.dump("bridge_domain_dump", fields)
    return [BridgeDomainDetails.from_message(d) for d in details]


async def add_port(vpp: ApiChannel, port: BridgeDomainPort) -> None:
    """Put the interface into the bridge domain (out of any other L2 mode)."""
    await vpp.call(
        "sw_interface_set_l2_bridge",
        {
            "rx_sw_if_index": port.sw_if_index,
            "bd_id": port.bd_id,
            "port_type": PORT_BVI if port.bvi else PORT_NORMAL,
            "shg": port.shg,
            "enable": True,
        },
    )


async def remove_port(vpp: ApiChannel, port: BridgeDomainPort) -> None:
    """Take the interface out of its bridge domain (back to L3)."""
    await vpp.call(
        "sw_interface_set_l2_bridge",
        {
            "rx_sw_if_index": port.sw_if_index,
            "bd_id": port.bd_id,
            "port_type": PORT_BVI if port.bvi else PORT_NORMAL,
            "enable": False,
        },
    )
