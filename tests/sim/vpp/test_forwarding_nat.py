"""The packet walk through NAT44-ED, configured through the binary API as Contiv's service
renderer lays it out on node 1: pod taps `out` (backends also `in`), vxlanBVI `in`+`out`,
the NAT loopback as the twice-NAT pool, a service 10.96.0.10:80/TCP load-balanced over
three backends (two pods on node 1, one on node 2) at port 8080, out2in-only with
self-twice-NAT.

A walk to the service lands on a backend with the DNAT hop; the draw follows the locals'
probabilities from a seed; the flow's later packets and its replies use its session; an
identity exempts; the output feature source-NATs; a pod reaching itself through the service
is twice-NATed; affinity keeps a client on its backend.
"""

from __future__ import annotations

import collections
import ipaddress

import pytest

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import find_interface
from contivpy.sim.vpp.forwarding_trace import NatHop, Outcome, Trace
from contivpy.vppcalls import nat44, nat44_mappings, nat44_sessions, routes
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.nat44 import NatAddressRange, NatFlags
from contivpy.vppcalls.nat44_mappings import IdentityMapping, LbLocal, LbMapping, StaticMapping
from sim.vpp.cluster import Cluster, StartCluster
from sim.vpp.scenario import IP_A, IP_A2, IP_B, NODE1, POD_A, POD_A2, POD_B, TAP_A, TAP_B
from sim.vpp.vswitch import NIC

IPv4 = ipaddress.IPv4Address
TCP, UDP = 6, 17
POD_A3 = "pod-a3"
IP_A3 = NODE1.pod_ip(3)
TAP_A2, TAP_A3 = naming.pod_vpp_tap(POD_A2), naming.pod_vpp_tap(POD_A3)
SVC = IPv4("10.96.0.10")
NAT_LOOPBACK = IPv4("10.1.1.254")
NODE1_IP = NODE1.node_ip.ip
BACKENDS = {IP_A2: TAP_A2, IP_A3: TAP_A3, IP_B: TAP_B}


def _index(cluster: Cluster, node: str, logical: str) -> int:
    iface = find_interface(cluster.fabric.state(node), logical)
    assert iface is not None
    return iface.sw_if_index


@pytest.fixture
async def cluster(start_cluster: StartCluster) -> Cluster:
    """Pods A, A2, A3 on node 1 and B on node 2; NAT44-ED on node 1 without mappings."""
    cluster = await start_cluster(2)
    for pod, ip in ((POD_A, IP_A), (POD_A2, IP_A2), (POD_A3, IP_A3)):
        await cluster.switches["node1"].add_pod(pod, ip)
    await cluster.switches["node2"].add_pod(POD_B, IP_B)
    vpp = cluster.switches["node1"].vpp
    await nat44.enable_nat44(vpp)
    await nat44.set_forwarding(vpp, True)
    for tap in (TAP_A, TAP_A2, TAP_A3, naming.VXLAN_BVI):
        await nat44.add_interface_feature(vpp, _index(cluster, "node1", tap), inside=False)
    for tap in (TAP_A2, TAP_A3, naming.VXLAN_BVI):
        await nat44.add_interface_feature(vpp, _index(cluster, "node1", tap), inside=True)
    loopback = NatAddressRange(NAT_LOOPBACK, NAT_LOOPBACK, twice_nat=True)
    await nat44.add_address_range(vpp, loopback)
    return cluster


async def _service(
    cluster: Cluster,
    backends: tuple[IPv4, ...] = (IP_A2, IP_A3, IP_B),
    probabilities: tuple[int, ...] = (1, 1, 1),
    affinity: int = 0,
) -> None:
    locals_ = tuple(
        LbLocal(ip, 8080, probability, vrf_id=1)
        for ip, probability in zip(backends, probabilities, strict=True)
    )
    flags = NatFlags.OUT2IN_ONLY | NatFlags.SELF_TWICE_NAT
    mapping = LbMapping(SVC, 80, TCP, locals_, flags, affinity, "default/web")
    await nat44_mappings.add_lb_mapping(cluster.switches["node1"].vpp, mapping)


def _walk(cluster: Cluster, tap: str, src: object, dst: object, sport: int, dport: int) -> Trace:
    node = "node2" if tap == TAP_B else "node1"
    return cluster.fabric.trace(
        node, tap, str(src), str(dst), protocol=TCP, src_port=sport, dst_port=dport
    )


def _nat_hops(trace: Trace) -> list[NatHop]:
    return [hop for hop in trace.hops if isinstance(hop, NatHop)]


def _landed(trace: Trace) -> IPv4:
    """The backend a walk to the service reached."""
    assert trace.delivered, trace.render()
    (hop,) = _nat_hops(trace)
    assert trace.verdict.interface is not None
    backend = IPv4(hop.new_dst[0])
    assert trace.verdict.interface.tag == BACKENDS.get(backend, TAP_A)
    return backend


def _first_to(cluster: Cluster, backend: IPv4) -> tuple[int, Trace]:
    """The source port of a new flow from pod A the draw sent to ``backend``, and its walk."""
    for sport in range(30000, 30100):
        trace = _walk(cluster, TAP_A, IP_A, SVC, sport, 80)
        if _landed(trace) == backend:
            return sport, trace
    raise AssertionError(f"no flow went to {backend}")


def _flow_to(cluster: Cluster, backend: IPv4) -> int:
    return _first_to(cluster, backend)[0]


async def test_a_walk_to_the_service_is_dnated_to_a_backend(cluster: Cluster) -> None:
    await _service(cluster)
    trace = _walk(cluster, TAP_A, IP_A, SVC, 40000, 80)
    backend = _landed(trace)
    (hop,) = _nat_hops(trace)
    assert (hop.stage, hop.session) == ("nat44-out2in", "new")
    assert hop.new_src == (IP_A, 40000)  # A does not back the service: no twice-NAT
    assert hop.new_dst == (backend, 8080)
    assert "nat44-out2in on tap" in trace.render()
    assert f"dst 10.96.0.10:80 -> {backend}:8080 (session new)" in trace.render()

    # the flow's next packet follows its session to the same backend
    again = _walk(cluster, TAP_A, IP_A, SVC, 40000, 80)
    assert _landed(again) == backend
    assert _nat_hops(again)[0].session == "existing"

    # the session as VPP's dumps list it
    vpp = cluster.switches["node1"].vpp
    users = await nat44_sessions.dump_users(vpp)
    assert [(u.ip, u.vrf_id, u.static_sessions) for u in users] == [(backend, 1, 1)]
    (session,) = await nat44_sessions.dump_sessions(vpp, backend, 1)
    assert (session.inside_ip, session.inside_port) == (backend, 8080)
    assert (session.outside_ip, session.outside_port) == (SVC, 80)
    assert (session.ext_host_ip, session.ext_host_port) == (IP_A, 40000)
    assert session.total_packets == 2
    assert session.flags & NatFlags.STATIC
    # deleted by its inside end, as the idle-session cleanup does: the next packet draws anew
    await nat44_sessions.delete_session(vpp, session, 1)
    assert await nat44_sessions.dump_users(vpp) == []
    with pytest.raises(VppApiError):
        await nat44_sessions.delete_session(vpp, session, 1)
    assert _nat_hops(_walk(cluster, TAP_A, IP_A, SVC, 40000, 80))[0].session == "new"


async def test_a_seed_fixes_the_draw_which_follows_the_probabilities(cluster: Cluster) -> None:
    await _service(cluster, probabilities=(1, 1, 2))
    table = cluster.fabric.state("node1").nat44.table

    def draw(ports: range) -> list[IPv4]:
        return [_landed(_walk(cluster, TAP_A, IP_A, SVC, port, 80)) for port in ports]

    table.seed(7)
    first = draw(range(20000, 20400))
    table.seed(7)
    assert draw(range(21000, 21400)) == first
    counts = collections.Counter(first)
    assert set(counts) == {IP_A2, IP_A3, IP_B}
    for backend, share in ((IP_A2, 0.25), (IP_A3, 0.25), (IP_B, 0.5)):
        assert abs(counts[backend] / len(first) - share) < 0.1, counts


async def test_replies_are_translated_back_to_the_service(cluster: Cluster) -> None:
    await _service(cluster)
    for backend in (IP_A2, IP_B):  # on node 1 (its tap is `in`), on node 2 (via vxlanBVI)
        sport = _flow_to(cluster, backend)
        reply = _walk(cluster, BACKENDS[backend], backend, IP_A, 8080, sport)
        assert reply.delivered, reply.render()
        assert reply.verdict.interface is not None
        assert reply.verdict.interface.tag == TAP_A
        (hop,) = _nat_hops(reply)
        assert (hop.stage, hop.session) == ("nat44-in2out", "existing")
        assert (hop.new_src, hop.new_dst) == ((SVC, 80), (IP_A, sport))

    # a reply arriving on an interface without `in` is left alone, as in VPP
    vpp = cluster.switches["node1"].vpp
    sport = _flow_to(cluster, IP_A3)
    await nat44.delete_interface_feature(vpp, _index(cluster, "node1", TAP_A3), inside=True)
    reply = _walk(cluster, TAP_A3, IP_A3, IP_A, 8080, sport)
    assert reply.delivered
    assert _nat_hops(reply) == []


async def test_an_identity_exempts_its_address(cluster: Cluster) -> None:
    vpp = cluster.switches["node1"].vpp
    await nat44.set_forwarding(vpp, False)  # untranslated traffic on `out` is dropped now
    await nat44_mappings.add_identity_mapping(vpp, IdentityMapping(NODE1_IP, vrf_id=0))
    nodeport = StaticMapping(NODE1_IP, 30080, TCP, IP_A2, 8080, vrf_id=1)
    await nat44_mappings.add_static_mapping(vpp, nodeport)

    exempt = _walk(cluster, TAP_A, IP_A, NODE1_IP, 40000, 22)
    assert exempt.delivered, exempt.render()
    (hop,) = _nat_hops(exempt)
    assert hop.session == "identity"
    assert hop.new_dst == (NODE1_IP, 22)
    assert "not translated" in exempt.render()
    # the port with a mapping is translated all the same
    assert _landed(_walk(cluster, TAP_A, IP_A, NODE1_IP, 40000, 30080)) == IP_A2
    dropped = _walk(cluster, TAP_A, IP_A, IP_B, 40000, 80)
    assert dropped.verdict.outcome is Outcome.DROPPED
    assert "no translation for" in dropped.verdict.reason


async def test_the_output_feature_source_nats_what_leaves_by_it(cluster: Cluster) -> None:
    vpp = cluster.switches["node1"].vpp
    nic = _index(cluster, "node1", NIC)
    await nat44.add_output_interface(vpp, nic)
    await nat44.add_address_range(vpp, NatAddressRange(NODE1_IP, NODE1_IP))
    gateway = IPv4("192.168.16.254")
    default = routes.Route(
        ipaddress.ip_network("0.0.0.0/0"), (routes.RoutePath.via_interface(nic, gateway),), 0
    )
    await routes.add_route(vpp, default)

    def dns(tap: str, ip: IPv4) -> Trace:
        return cluster.fabric.trace(
            "node1", tap, str(ip), "8.8.8.8", protocol=UDP, src_port=5353, dst_port=53
        )

    out = dns(TAP_A, IP_A)
    assert out.delivered, out.render()
    assert "leaves towards" in out.verdict.reason
    (hop,) = _nat_hops(out)
    assert (hop.stage, hop.new_src) == ("nat44-in2out-output", (NODE1_IP, 5353))
    # another pod's flow with the same port gets another one
    (other,) = _nat_hops(dns(TAP_A2, IP_A2))
    assert other.new_src == (NODE1_IP, 1024)
    # the reply arriving on the NIC goes back to A
    reply = cluster.fabric.trace(
        "node1", NIC, "8.8.8.8", str(NODE1_IP), protocol=UDP, src_port=53, dst_port=5353
    )
    assert reply.delivered, reply.render()
    assert reply.verdict.interface is not None
    assert reply.verdict.interface.tag == TAP_A
    assert _nat_hops(reply)[0].new_dst == (IP_A, 5353)
    users = await nat44_sessions.dump_users(vpp)
    assert {(u.ip, u.sessions, u.static_sessions) for u in users} == {(IP_A, 1, 0), (IP_A2, 1, 0)}


async def test_a_pod_reaching_a_service_it_backs_is_twice_nated(cluster: Cluster) -> None:
    vpp = cluster.switches["node1"].vpp
    await nat44.add_interface_feature(vpp, _index(cluster, "node1", TAP_A), inside=True)
    await _service(cluster, backends=(IP_A, IP_A2, IP_B))

    sport, hairpin = _first_to(cluster, IP_A)
    (hop,) = _nat_hops(hairpin)
    assert hop.new_src == (NAT_LOOPBACK, sport)
    assert hop.new_dst == (IP_A, 8080)
    assert "self-twice-NAT" in hairpin.render()
    (session,) = await nat44_sessions.dump_sessions(vpp, IP_A, 1)
    assert session.flags & NatFlags.TWICE_NAT
    assert (session.ext_host_nat_ip, session.ext_host_nat_port) == (NAT_LOOPBACK, sport)
    # its reply (to the loopback address) goes back through the session to A as the service
    reply = _walk(cluster, TAP_A, IP_A, NAT_LOOPBACK, 8080, sport)
    assert reply.delivered
    assert reply.verdict.interface is not None
    assert reply.verdict.interface.tag == TAP_A
    (back,) = _nat_hops(reply)
    assert (back.new_src, back.new_dst) == ((SVC, 80), (IP_A, sport))
    # a flow to another backend keeps its source
    other = _walk(cluster, TAP_A, IP_A, SVC, _flow_to(cluster, IP_A2), 80)
    assert _nat_hops(other)[0].new_src[0] == IP_A


async def test_affinity_keeps_a_client_on_its_backend(cluster: Cluster) -> None:
    await _service(cluster, affinity=600)
    table = cluster.fabric.state("node1").nat44.table
    now = [1000.0]
    table.clock = lambda: now[0]

    landed = {_landed(_walk(cluster, TAP_A, IP_A, SVC, port, 80)) for port in range(100, 130)}
    assert len(landed) == 1
    # another client draws for itself
    others = {_landed(_walk(cluster, TAP_A2, IP_A2, SVC, p, 80)) for p in range(100, 130)}
    assert len(others) == 1
    # once the timeout passed, the client's next flow draws again (and is kept from then on)
    drawn = set()
    for epoch in range(12):
        now[0] += 601
        drawn.add(_landed(_walk(cluster, TAP_A, IP_A, SVC, 1000 + epoch, 80)))
    assert len(drawn) > 1
