"""The simulator answers the NAT44-ED session dumps ``ctl nat sessions`` reads from the
sessions its packet walk made: a pod's flow to a service DNATed to another pod (a static
session), and a pod reaching a service it backs, twice-NATed to the NAT loopback."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.agent.nat_view import nat_sessions
from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import find_interface
from contivpy.sim.vpp.forwarding_trace import NatHop
from contivpy.vppcalls import nat44, nat44_mappings
from contivpy.vppcalls.nat44 import NatAddressRange, NatFlags
from contivpy.vppcalls.nat44_mappings import LbLocal, LbMapping
from sim.vpp.cluster import Cluster, StartCluster
from sim.vpp.scenario import IP_A, IP_A2, POD_A, POD_A2, TAP_A

IPv4 = ipaddress.IPv4Address
TCP = 6
SVC = IPv4("10.96.0.10")
NAT_LOOPBACK = IPv4("10.1.1.254")
TAP_A2 = naming.pod_vpp_tap(POD_A2)


@pytest.fixture
async def cluster(start_cluster: StartCluster) -> Cluster:
    """Pods A and A2 on node 1 both back 10.96.0.10:80/TCP (port 8080), self-twice-NAT."""
    cluster = await start_cluster(1)
    for pod, ip in ((POD_A, IP_A), (POD_A2, IP_A2)):
        await cluster.switches["node1"].add_pod(pod, ip)
    vpp = cluster.switches["node1"].vpp
    await nat44.enable_nat44(vpp)
    for tap in (TAP_A, TAP_A2):
        iface = find_interface(cluster.fabric.state("node1"), tap)
        assert iface is not None
        for inside in (False, True):
            await nat44.add_interface_feature(vpp, iface.sw_if_index, inside=inside)
    await nat44.add_address_range(vpp, NatAddressRange(NAT_LOOPBACK, NAT_LOOPBACK, twice_nat=True))
    locals_ = (LbLocal(IP_A, 8080, 1, vrf_id=1), LbLocal(IP_A2, 8080, 1, vrf_id=1))
    flags = NatFlags.OUT2IN_ONLY | NatFlags.SELF_TWICE_NAT
    await nat44_mappings.add_lb_mapping(vpp, LbMapping(SVC, 80, TCP, locals_, flags, 0, "web"))
    return cluster


def _backend_of(cluster: Cluster, sport: int) -> IPv4:
    trace = cluster.fabric.trace(
        "node1", TAP_A, str(IP_A), str(SVC), protocol=TCP, src_port=sport, dst_port=80
    )
    assert trace.delivered, trace.render()
    (hop,) = [hop for hop in trace.hops if isinstance(hop, NatHop)]
    return IPv4(hop.new_dst[0])


async def test_walked_flows_are_listed_as_vpp_dumps_them(cluster: Cluster) -> None:
    vpp = cluster.switches["node1"].vpp
    assert (await nat_sessions(vpp)).sessions == ()
    walked: dict[IPv4, list[int]] = {IP_A: [], IP_A2: []}
    for sport in range(30000, 30100):  # new flows until the draw has sent one to each backend
        walked[_backend_of(cluster, sport)].append(sport)
        if all(walked.values()):
            break
    assert all(walked.values())
    again = walked[IP_A2][0]
    assert _backend_of(cluster, again) == IP_A2  # that flow's second packet: its session

    view = await nat_sessions(vpp)
    assert view.users == 2
    assert len(view.sessions) == len(walked[IP_A]) + len(walked[IP_A2])
    # sorted by inside address: A (.2) before A2 (.3)
    hairpin, other = view.sessions[0], view.sessions[-len(walked[IP_A2])]
    sport = walked[IP_A][0]
    assert (hairpin.inside_ip, hairpin.inside_port) == (str(IP_A), 8080)
    assert (hairpin.outside_ip, hairpin.outside_port) == (str(SVC), 80)
    assert (hairpin.ext_host_ip, hairpin.ext_host_port) == (str(IP_A), sport)
    assert hairpin.twice_nat
    assert (hairpin.ext_host_nat_ip, hairpin.ext_host_nat_port) == (str(NAT_LOOPBACK), sport)
    assert (hairpin.protocol, hairpin.inside_vrf, hairpin.static) == ("tcp", 1, True)
    assert (other.inside_ip, other.ext_host_ip, other.ext_host_port) == (
        str(IP_A2),
        str(IP_A),
        again,
    )
    assert not other.twice_nat
    assert (other.ext_host_nat_ip, other.ext_host_nat_port) == ("", 0)
    assert other.total_packets == 2
    assert not other.timed_out
