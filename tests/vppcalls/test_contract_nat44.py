"""Contract of the NAT44-ED calls: what a VPP 26.06 holds and answers (simulator by default,
a real VPP with CONTIVPY_VPP_SOCKET): the plugin, interface features, the output feature,
the address pool, load-balanced, static and identity mappings, and their refusals."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.vppcalls import loopback, nat44
from contivpy.vppcalls import nat44_mappings as maps
from contivpy.vppcalls import nat44_sessions as sessions
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.nat44 import NatAddress, NatAddressRange, NatFlags, NatInterface
from contivpy.vppcalls.nat44_mappings import IdentityMapping, LbLocal, LbMapping, StaticMapping
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import NO_INDEX

pytestmark = pytest.mark.vpp

IP = ipaddress.IPv4Address
O2I = NatFlags.OUT2IN_ONLY
TCP, UDP, SCTP = 6, 17, 132


async def _refused(call: object) -> int:
    with pytest.raises(VppApiError) as refused:
        await call  # type: ignore[misc]
    return refused.value.retval


async def _loop(vpp: VppClient) -> int:
    return await loopback.create_loopback(vpp, loopback.LoopbackSpec())


def _lb(ip: str, port: int, *backends: str, **kw: object) -> LbMapping:
    locals_ = tuple(LbLocal(IP(b), 8080) for b in backends)
    return LbMapping(IP(ip), port, TCP, locals_, **kw)  # type: ignore[arg-type]


async def test_disabled_plugin_refuses_configuration_and_lists_nothing(vpp: VppClient) -> None:
    config = await nat44.running_config(vpp)
    assert not config.enabled
    assert config.sessions == 0
    lo = await _loop(vpp)
    assert await _refused(nat44.add_interface_feature(vpp, lo, True)) == Retval.UNSUPPORTED
    assert await _refused(nat44.add_output_interface(vpp, lo)) == Retval.UNSUPPORTED
    pool = NatAddressRange(IP("10.0.0.1"), IP("10.0.0.1"))
    assert await _refused(nat44.add_address_range(vpp, pool)) == Retval.UNSUPPORTED
    mapping = _lb("10.96.0.1", 80, "10.1.1.2", "10.1.1.3")
    assert await _refused(maps.add_lb_mapping(vpp, mapping)) == Retval.UNSUPPORTED
    identity = IdentityMapping(IP("192.168.16.1"))
    assert await _refused(maps.add_identity_mapping(vpp, identity)) == Retval.UNSUPPORTED
    assert await nat44.dump_interface_features(vpp) == []
    assert await nat44.dump_output_interfaces(vpp) == []
    assert await maps.dump_lb_mappings(vpp) == []
    assert await sessions.dump_users(vpp) == []


async def test_enable_twice_disable_twice_and_forwarding_reset(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    config = await nat44.running_config(vpp)
    assert config.enabled
    assert config.sessions == nat44.DEFAULT_SESSIONS
    assert config.translation_buckets == 32768
    assert not config.forwarding
    assert await _refused(nat44.enable_nat44(vpp)) == Retval.FEATURE_ALREADY_ENABLED
    await nat44.set_forwarding(vpp, True)
    assert (await nat44.running_config(vpp)).forwarding
    await nat44.disable_nat44(vpp)
    assert await _refused(nat44.disable_nat44(vpp)) == Retval.FEATURE_ALREADY_DISABLED
    await nat44.enable_nat44(vpp, sessions=100_000, inside_vrf=0, outside_vrf=0)
    config = await nat44.running_config(vpp)
    # enabling turns forwarding off again
    assert (config.sessions, config.forwarding) == (100_000, False)


async def test_interface_features_and_their_quirks(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    a, b, c = await _loop(vpp), await _loop(vpp), await _loop(vpp)
    await nat44.add_interface_feature(vpp, a, inside=True)
    await nat44.add_interface_feature(vpp, a, inside=True)  # again: accepted
    await nat44.add_interface_feature(vpp, a, inside=False)
    await nat44.add_interface_feature(vpp, b, inside=False)
    assert await nat44.dump_interface_features(vpp) == [
        NatInterface(a, inside=True, outside=True),
        NatInterface(b, outside=True),
    ]
    # a one-direction interface loses its feature whichever direction is deleted
    await nat44.delete_interface_feature(vpp, b, inside=True)
    assert await nat44.dump_interface_features(vpp) == [NatInterface(a, True, True)]
    missing = nat44.delete_interface_feature(vpp, b, inside=False)
    assert await _refused(missing) == Retval.NO_SUCH_ENTRY
    await nat44.delete_interface_feature(vpp, a, inside=True)
    assert await nat44.dump_interface_features(vpp) == [NatInterface(a, outside=True)]
    unknown = nat44.add_interface_feature(vpp, 999, inside=True)
    assert await _refused(unknown) == Retval.INVALID_SW_IF_INDEX

    # the output feature and the in/out feature exclude each other
    await nat44.add_output_interface(vpp, c)
    assert await _refused(nat44.add_output_interface(vpp, c)) == Retval.VALUE_EXIST
    assert await _refused(nat44.add_output_interface(vpp, a)) == Retval.VALUE_EXIST
    assert await _refused(nat44.add_interface_feature(vpp, c, True)) == Retval.VALUE_EXIST
    assert await _refused(nat44.add_output_interface(vpp, 999)) == Retval.INVALID_SW_IF_INDEX
    assert await nat44.dump_output_interfaces(vpp) == [c]
    assert await _refused(nat44.delete_output_interface(vpp, b)) == Retval.NO_SUCH_ENTRY

    # deleting an interface drops its NAT features
    await loopback.delete_loopback(vpp, a)
    await loopback.delete_loopback(vpp, c)
    assert await nat44.dump_interface_features(vpp) == []
    assert await nat44.dump_output_interfaces(vpp) == []


async def test_address_pool_order_duplicates_and_twice_nat(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    await nat44.add_address_range(vpp, NatAddressRange(IP("10.0.0.1"), IP("10.0.0.3")))
    await nat44.add_address_range(vpp, NatAddressRange(IP("10.0.0.9"), IP("10.0.0.9"), 0, True))
    await nat44.add_address_range(vpp, NatAddressRange(IP("10.0.0.5"), IP("10.0.0.5"), 0))
    duplicate = NatAddressRange(IP("10.0.0.3"), IP("10.0.0.4"))
    assert await _refused(nat44.add_address_range(vpp, duplicate)) == Retval.VALUE_EXIST
    # the twice-NAT pool comes after the normal one
    assert await nat44.dump_addresses(vpp) == [
        NatAddress(IP("10.0.0.1")),
        NatAddress(IP("10.0.0.2")),
        NatAddress(IP("10.0.0.3")),
        NatAddress(IP("10.0.0.5"), 0),
        NatAddress(IP("10.0.0.9"), 0, True),
    ]
    # a deleted address is replaced by the last one
    await nat44.delete_address_range(vpp, NatAddressRange(IP("10.0.0.1"), IP("10.0.0.1")))
    wrong_pool = NatAddressRange(IP("10.0.0.9"), IP("10.0.0.9"), 0, False)
    assert await _refused(nat44.delete_address_range(vpp, wrong_pool)) == Retval.NO_SUCH_ENTRY
    assert [a.ip for a in await nat44.dump_addresses(vpp)] == [
        IP("10.0.0.5"),
        IP("10.0.0.2"),
        IP("10.0.0.3"),
        IP("10.0.0.9"),
    ]


async def test_load_balanced_mappings_and_their_locals(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    one = _lb("10.96.0.1", 80, "10.1.1.2", flags=O2I)
    assert await _refused(maps.add_lb_mapping(vpp, one)) == Retval.INVALID_VALUE
    not_out2in = _lb("10.96.0.1", 80, "10.1.1.2", "10.1.1.3", flags=NatFlags.NONE)
    assert await _refused(maps.add_lb_mapping(vpp, not_out2in)) == Retval.NO_SUCH_ENTRY

    svc = LbMapping(
        IP("10.96.0.1"),
        80,
        TCP,
        (LbLocal(IP("10.1.1.2"), 8080, 2, 0), LbLocal(IP("10.1.1.3"), 8080, 1, 1)),
        O2I | NatFlags.SELF_TWICE_NAT,
        affinity=10800,
        tag="default/web",
    )
    dns = LbMapping(
        IP("10.96.0.10"),
        53,
        UDP,
        (LbLocal(IP("10.1.1.4"), 53), LbLocal(IP("10.1.1.5"), 53)),
        O2I | NatFlags.TWICE_NAT | NatFlags.SELF_TWICE_NAT,
        tag="kube-system/dns",
    )
    sctp = _lb("10.96.0.1", 80, "10.1.1.2", "10.1.1.3", flags=O2I)
    sctp = LbMapping(sctp.external_ip, 80, SCTP, sctp.locals, O2I, tag="sctp")
    for mapping in (svc, dns, sctp):
        await maps.add_lb_mapping(vpp, mapping)
    taken = LbMapping(svc.external_ip, 80, TCP, dns.locals, O2I)
    assert await _refused(maps.add_lb_mapping(vpp, taken)) == Retval.VALUE_EXIST
    # affinity reads 0; of the two twice-NAT flags only TWICE_NAT stays
    assert await maps.dump_lb_mappings(vpp) == [
        LbMapping(svc.external_ip, 80, TCP, svc.locals, svc.flags, 0, "default/web"),
        LbMapping(dns.external_ip, 53, UDP, dns.locals, O2I | NatFlags.TWICE_NAT, 0, dns.tag),
        sctp,
    ]

    added = LbLocal(IP("10.1.1.9"), 8080, 5, 0)
    await maps.add_lb_local(vpp, svc, added)
    assert await _refused(maps.add_lb_local(vpp, svc, added)) == Retval.VALUE_EXIST
    # removed by address, port and VRF (the probability is not compared); order kept
    await maps.delete_lb_local(vpp, svc, LbLocal(IP("10.1.1.2"), 8080, 0, 0))
    absent = LbLocal(IP("10.1.1.77"), 8080)
    assert await _refused(maps.delete_lb_local(vpp, svc, absent)) == Retval.NO_SUCH_ENTRY
    gone = maps.add_lb_local(vpp, _lb("10.96.9.9", 80, "10.1.1.2", "10.1.1.3"), added)
    assert await _refused(gone) == Retval.NO_SUCH_ENTRY
    (first, *_) = await maps.dump_lb_mappings(vpp)
    assert first.locals == (svc.locals[1], added)
    # two locals must remain
    last_two = maps.delete_lb_local(vpp, dns, dns.locals[0])
    assert await _refused(last_two) == Retval.UNSPECIFIED

    await maps.delete_lb_mapping(vpp, svc.external_ip, 80, TCP)
    gone_again = maps.delete_lb_mapping(vpp, svc.external_ip, 80, TCP)
    assert await _refused(gone_again) == Retval.NO_SUCH_ENTRY
    # the freed slot is taken by the next mapping: it is listed first
    await maps.add_lb_mapping(vpp, _lb("10.96.0.2", 80, "10.1.1.2", "10.1.1.3", flags=O2I))
    assert [m.external_ip for m in await maps.dump_lb_mappings(vpp)] == [
        IP("10.96.0.2"),
        dns.external_ip,
        sctp.external_ip,
    ]


async def test_static_and_identity_mappings(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    single = StaticMapping(IP("10.96.1.1"), 80, TCP, IP("10.1.1.2"), 8080, 1, O2I, "ns/one")
    await maps.add_static_mapping(vpp, single)
    assert await _refused(maps.add_static_mapping(vpp, single)) == Retval.VALUE_EXIST
    clash = _lb("10.96.1.1", 80, "10.1.1.2", "10.1.1.3", flags=O2I)
    assert await _refused(maps.add_lb_mapping(vpp, clash)) == Retval.VALUE_EXIST
    assert await maps.dump_static_mappings(vpp) == [single]

    vxlan = IdentityMapping(IP("192.168.16.1"), 0, UDP, 4789, False, "DNAT-identities")
    host = IdentityMapping(IP("192.168.16.1"), 0, tag="DNAT-identities")
    pods = IdentityMapping(IP("192.168.16.1"), 1, tag="DNAT-identities")
    for identity in (vxlan, host, pods):
        await maps.add_identity_mapping(vpp, identity)
    assert await _refused(maps.add_identity_mapping(vpp, pods)) == Retval.VALUE_EXIST
    assert await maps.dump_identity_mappings(vpp) == [vxlan, host, pods]
    # identities are not static mappings and static mappings not identities
    assert await maps.dump_static_mappings(vpp) == [single]

    await maps.delete_identity_mapping(vpp, pods)
    assert await _refused(maps.delete_identity_mapping(vpp, pods)) == Retval.NO_SUCH_ENTRY
    assert await maps.dump_identity_mappings(vpp) == [vxlan, host]
    # an out2in-only mapping is deleted by its external end, whatever local is named
    other_local = StaticMapping(IP("10.96.1.1"), 80, TCP, IP("10.9.9.9"), 1, 1, O2I)
    await maps.delete_static_mapping(vpp, other_local)
    assert await _refused(maps.delete_static_mapping(vpp, single)) == Retval.NO_SUCH_ENTRY
    assert await maps.dump_static_mappings(vpp) == []


async def test_disabling_forgets_everything(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp)
    lo = await _loop(vpp)
    await nat44.add_interface_feature(vpp, lo, inside=True)
    await nat44.add_address_range(vpp, NatAddressRange(IP("10.0.0.1"), IP("10.0.0.1")))
    await maps.add_lb_mapping(vpp, _lb("10.96.0.1", 80, "10.1.1.2", "10.1.1.3", flags=O2I))
    await maps.add_identity_mapping(vpp, IdentityMapping(IP("192.168.16.1")))
    await nat44.disable_nat44(vpp)
    await nat44.enable_nat44(vpp)
    assert await nat44.dump_interface_features(vpp) == []
    assert await nat44.dump_addresses(vpp) == []
    assert await maps.dump_lb_mappings(vpp) == []
    assert await maps.dump_identity_mappings(vpp) == []
    assert NO_INDEX == 0xFFFFFFFF
