"""VXLAN tunnels (vxlan_add_del_tunnel_v3).

In: :class:`VxlanTunnel`. Out: the tunnel's sw_if_index; vxlan_tunnel_v2_dump as
:class:`VxlanTunnelDetails`. VPP finds a tunnel by its endpoints, VNI, port and encap VRF, so
deleting takes the same description that created it. Ports are always sent (4789 unless
given) so that what is read back equals what was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import NO_INDEX, IpAddress, address_from_wire, address_to_wire

VXLAN_PORT = 4789


@dataclass(frozen=True)
class VxlanTunnel:
    """A VXLAN tunnel between two addresses of one family."""

    src: IpAddress
    dst: IpAddress
    vni: int
    encap_vrf_id: int = 0
    #: the N of vxlan_tunnelN; None lets VPP pick
    instance: int | None = None
    src_port: int = VXLAN_PORT
    dst_port: int = VXLAN_PORT
    mcast_sw_if_index: int = NO_INDEX
    decap_next_index: int = NO_INDEX
    is_l3: bool = False


@dataclass(frozen=True)
class VxlanTunnelDetails:
    """A tunnel as VPP reports it (is_l3 is not reported)."""

    sw_if_index: int
    instance: int
    src: IpAddress
    dst: IpAddress
    vni: int
    encap_vrf_id: int
    src_port: int
    dst_port: int
    mcast_sw_if_index: int
    decap_next_index: int

    @classmethod
    def from_message(cls, msg: Message) -> VxlanTunnelDetails:
        """From vxlan_tunnel_v2_details."""
        return cls(
            sw_if_index=msg.get_int("sw_if_index"),
            instance=msg.get_int("instance"),
            src=address_from_wire(msg.get_struct("src_address")),
            dst=address_from_wire(msg.get_struct("dst_address")),
            vni=msg.get_int("vni"),
            encap_vrf_id=msg.get_int("encap_vrf_id"),
            src_port=msg.get_int("src_port"),
            dst_port=msg.get_int("dst_port"),
            mcast_sw_if_index=msg.get_int("mcast_sw_if_index"),
            decap_next_index=msg.get_int("decap_next_index"),
        )

    def tunnel(self) -> VxlanTunnel:
        """The tunnel as a request names it (VPP finds one to delete by endpoints, VNI,
        ports and VRF)."""
        return VxlanTunnel(
            src=self.src,
            dst=self.dst,
            vni=self.vni,
            encap_vrf_id=self.encap_vrf_id,
            src_port=self.src_port,
            dst_port=self.dst_port,
            mcast_sw_if_index=self.mcast_sw_if_index,
        )


def _fields(tunnel: VxlanTunnel, is_add: bool) -> dict[str, object]:
    return {
        "is_add": is_add,
        "instance": NO_INDEX if tunnel.instance is None else tunnel.instance,
        "src_address": address_to_wire(tunnel.src),
        "dst_address": address_to_wire(tunnel.dst),
        "src_port": tunnel.src_port,
        "dst_port": tunnel.dst_port,
        "mcast_sw_if_index": tunnel.mcast_sw_if_index,
        "encap_vrf_id": tunnel.encap_vrf_id,
        "decap_next_index": tunnel.decap_next_index,
        "vni": tunnel.vni,
        "is_l3": tunnel.is_l3,
    }


async def create_vxlan_tunnel(vpp: ApiChannel, tunnel: VxlanTunnel) -> int:
    """Create the tunnel; its sw_if_index."""
    reply = await vpp.call("vxlan_add_del_tunnel_v3", _fields(tunnel, True))
    return reply.get_int("sw_if_index")


async def delete_vxlan_tunnel(vpp: ApiChannel, tunnel: VxlanTunnel) -> None:
    """Delete the tunnel with these endpoints, VNI, port and VRF."""
    await vpp.call("vxlan_add_del_tunnel_v3", _fields(tunnel, False))


async def dump_vxlan_tunnels(
    vpp: ApiChannel, sw_if_index: int | None = None
) -> list[VxlanTunnelDetails]:
    """Every tunnel (or one)."""
    fields = {"sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index}
    details = await vpp.dump("vxlan_tunnel_v2_dump", fields)
    return [VxlanTunnelDetails.from_message(d) for d in details]
