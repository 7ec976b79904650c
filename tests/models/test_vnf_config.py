"""vpp-agent's NB keys and JSON values <-> contivpy's models (``models.vnf_config``)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.linux.netlink_types import NetnsRef
from contivpy.models import (
    L2FIB,
    AfPacketLink,
    BDInterface,
    BridgeDomain,
    Interface,
    InterfaceType,
    IPNeighbor,
    IpProtocol,
    L2FIBAction,
    MemifLink,
    MemifMode,
    Route,
    RouteType,
    SubInterfaceLink,
    TapLink,
    VrfTable,
    VxlanLink,
    XConnect,
)
from contivpy.models.vnf_config import (
    IPAllocation,
    ModelId,
    VnfConfigError,
    VnfValue,
    config_prefix,
    decode_data,
    decode_value,
    encode_value,
    memif_socket_id,
    microservice_prefix,
    parse_config_key,
    to_json,
    value_key,
)
from contivpy.models.vpp_keys import interface_key, route_key, xconnect_key

SOCKET = "/var/run/contiv/memif/pod1/memif.sock"

MEMIF_SLAVE = Interface(
    name="memif1",
    type=InterfaceType.MEMIF,
    enabled=True,
    ip_addresses=("10.1.1.4/32",),
    link=MemifLink(
        id=1,
        socket_filename=SOCKET,
        socket_id=memif_socket_id(SOCKET),
        master=False,
        secret="s3cret",
    ),
)

VALUES: list[VnfValue] = [
    MEMIF_SLAVE,
    Interface("loop0", InterfaceType.LOOPBACK, phys_address="02:00:00:00:00:01", mtu=1500),
    Interface("tap1", InterfaceType.TAP, vrf=1, link=TapLink(host_if_name="tap1", gso=True)),
    Interface("host-eth1", InterfaceType.AF_PACKET, link=AfPacketLink("eth1", "veth-eth1")),
    Interface("GigabitEthernet0/a/0", InterfaceType.DPDK, ip_addresses=("192.168.16.1/24",)),
    Interface(
        "GigabitEthernet0/a/0.200",
        InterfaceType.SUB_INTERFACE,
        link=SubInterfaceLink("GigabitEthernet0/a/0", 200),
    ),
    Interface(
        "GigabitEthernet0/a/0.300",
        InterfaceType.SUB_INTERFACE,
        link=SubInterfaceLink("GigabitEthernet0/a/0", 300, pop_tags=1),  # tag_rw_option POP1
    ),
    Interface(
        "vxlan1",
        InterfaceType.VXLAN_TUNNEL,
        unnumbered="loop0",
        link=VxlanLink("192.168.16.1", "192.168.16.2", 10),
    ),
    Interface("memif2", InterfaceType.MEMIF, link=MemifLink(id=2, mode=MemifMode.IP)),
    VrfTable(1, IpProtocol.IPV6, "pods"),
    Route("10.1.0.0/16", vrf=1, next_hop="10.1.1.1", outgoing_interface="memif1"),
    Route("0.0.0.0/0", type=RouteType.INTER_VRF, via_vrf=1, weight=3, preference=2),
    IPNeighbor("memif1", "10.1.1.1", "02:fe:00:00:00:01"),
    BridgeDomain(
        "bd1",
        learn=False,
        mac_age=5,
        interfaces=(BDInterface("loop0", bvi=True), BDInterface("vxlan1", split_horizon_group=1)),
    ),
    L2FIB("bd1", "02:fe:00:00:00:02", "vxlan1", bvi=True),
    L2FIB("bd1", "02:fe:00:00:00:03", action=L2FIBAction.DROP, static=False),
    XConnect("memif1", "memif2"),
    LinuxInterface(
        "eth1",
        LinuxInterfaceType.EXISTING,
        host_if_name="eth1",
        ip_addresses=("10.1.1.5/32",),
    ),
    LinuxInterface(
        "veth1", LinuxInterfaceType.VETH, namespace=NetnsRef.named("ns1"), veth_peer="veth2"
    ),
    LinuxInterface(
        "tap1", LinuxInterfaceType.TAP_TO_VPP, namespace=NetnsRef.of_pid(42), vpp_tap="tap1"
    ),
    IPAllocation("contiv-default", "memif1", "10.1.1.4/24", "10.1.1.1"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_a_value_round_trips_through_its_key_and_bytes(value: VnfValue) -> None:
    key = value_key(value)
    assert decode_value(key, encode_value(value)) == value
    assert encode_value(decode_value(key, encode_value(value))) == encode_value(value)


def test_keys_follow_vpp_agents_layout() -> None:
    assert value_key(MEMIF_SLAVE) == interface_key("memif1") == "config/vpp/v2/interfaces/memif1"
    assert value_key(XConnect("memif1", "memif2")) == xconnect_key("memif1")
    assert value_key(XConnect("a", "b")) == "config/vpp/l2/v2/xconnect/a"
    route = Route("10.1.0.0/16", vrf=1, next_hop="10.1.1.1", outgoing_interface="memif1")
    assert value_key(route) == route_key(1, "10.1.0.0/16", "10.1.1.1", "memif1")
    assert value_key(route) == "config/vpp/v2/route/if/memif1/vrf/1/dst/10.1.0.0/16/gw/10.1.1.1"
    assert value_key(IPNeighbor("memif1", "10.1.1.1", "02:fe:00:00:00:01")) == (
        "config/vpp/v2/arp/memif1/10.1.1.1"
    )
    assert value_key(IPAllocation("contiv-default", "memif1", "10.1.1.4/24")) == (
        "config/netalloc/v1/ip/network/contiv-default/interface/memif1"
    )
    assert value_key(LinuxInterface("eth1", LinuxInterfaceType.EXISTING)) == (
        "config/linux/interfaces/v2/interface/eth1"
    )
    assert config_prefix("vpp-cnf1") == "/vnf-agent/vpp-cnf1/config/"
    assert microservice_prefix("vpp-cnf1") == "/vnf-agent/vpp-cnf1/"
    with pytest.raises(ValueError, match="label"):
        microservice_prefix("a/b")


def test_parse_config_key_splits_module_version_type_and_name() -> None:
    assert parse_config_key("config/vpp/l2/v2/xconnect/memif0/0") == (
        ModelId("vpp.l2", "v2", "xconnect"),
        "memif0/0",
    )
    assert parse_config_key("config/vpp/nat/v2/dnat44/x") == (
        ModelId("vpp.nat", "v2", "dnat44"),
        "x",
    )
    assert parse_config_key("config/vpp/v2/interfaces/") is None
    assert parse_config_key("k8s/pod/x") is None


def test_the_memif_json_is_vpp_agents_protojson() -> None:
    assert to_json(MEMIF_SLAVE) == {
        "name": "memif1",
        "type": "MEMIF",
        "enabled": True,
        "ip_addresses": ["10.1.1.4/32"],
        "memif": {
            "id": 1,
            "socket_filename": SOCKET,
            "secret": "s3cret",
            "ring_size": 1024,
            "buffer_size": 2048,
            "rx_queues": 1,
            "tx_queues": 1,
        },
    }
    # the same bytes every time: "unchanged" is a byte comparison
    assert encode_value(MEMIF_SLAVE) == encode_value(MEMIF_SLAVE)
    assert b" " not in encode_value(MEMIF_SLAVE)


def test_json_names_proto3_defaults_and_enum_numbers_are_read() -> None:
    value = decode_value(
        "config/vpp/v2/interfaces/memif1",
        json.dumps(
            {
                "name": "memif1",
                "type": 4,
                "enabled": True,
                "ipAddresses": ["10.1.1.4/32"],
                "memif": {"id": "1", "socketFilename": SOCKET, "secret": "s3cret"},
            }
        ),
    )
    assert value == MEMIF_SLAVE  # master absent: a slave (proto3 default false)
    xconnect = decode_value(
        "config/vpp/l2/v2/xconnect/memif1",
        b'{"receiveInterface": "memif1", "transmitInterface": "memif2"}',
    )
    assert xconnect == XConnect("memif1", "memif2")


@pytest.mark.parametrize(
    ("key", "data", "field", "problem"),
    [
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "MEMIF", "memif": {"ringSize": "big"}},
            "memif.ring_size",
            "expected an integer",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "LOOPBACK"},
            "type",
            "unknown value 'LOOPBACK'",
        ),
        ("config/vpp/v2/interfaces/m", {"name": "m"}, "type", "required"),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "BOND_INTERFACE"},
            "type",
            "not supported",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "TAP", "memif": {}},
            "memif",
            "does not fit type TAP",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "MEMIF", "set_dhcp_client": True},
            "set_dhcp_client",
            "not supported",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "MEMIF", "ip_addresses": ["alloc:net1"]},
            "ip_addresses[0]",
            "netalloc",
        ),
        (
            "config/vpp/l2/v2/xconnect/a",
            {"recieve_interface": "a"},
            "recieve_interface",
            "unknown field",
        ),
        (
            "config/vpp/l2/v2/xconnect/a",
            {"receive_interface": "b", "transmit_interface": "a"},
            "receive_interface",
            "belongs under config/vpp/l2/v2/xconnect/b",
        ),
        (
            "config/vpp/v2/arp/m/1.2.3.4",
            {"interface": "m", "ip_address": "1.2.3.400"},
            "",
            "1.2.3.400",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "DPDK", "enabled": "yes"},
            "enabled",
            "true or false",
        ),
        (
            "config/vpp/v2/interfaces/m",
            {"name": "m", "type": "DPDK", "mtu": -1},
            "mtu",
            "out of range",
        ),
    ],
)
def test_a_bad_value_names_its_key_and_field(
    key: str, data: dict[str, object], field: str, problem: str
) -> None:
    with pytest.raises(VnfConfigError, match=problem) as raised:
        decode_value(key, json.dumps(data))
    assert raised.value.key == key
    assert raised.value.field == field
    assert key in str(raised.value)


def test_unknown_models_and_foreign_keys_are_refused() -> None:
    with pytest.raises(VnfConfigError, match=r"unknown model 'vpp\.nat v2 dnat44'"):
        decode_value("config/vpp/nat/v2/dnat44/x", b"{}")
    with pytest.raises(VnfConfigError, match="not a vpp-agent config key"):
        decode_value("k8s/pod/x", b"{}")
    with pytest.raises(VnfConfigError, match="not JSON"):
        decode_value("config/vpp/l2/v2/xconnect/a", b"{nope")
    with pytest.raises(VnfConfigError, match="item 3: unknown model"):
        decode_data(ModelId("vpp", "v9", "interfaces"), {}, where="item 3")


def test_encoding_refuses_what_vpp_agents_model_cannot_carry() -> None:
    tap = Interface("tap1", InterfaceType.TAP, link=TapLink(host_namespace="/var/run/netns/x"))
    with pytest.raises(VnfConfigError, match=r"link\.host_namespace"):
        encode_value(tap)
    with pytest.raises(VnfConfigError, match="needs its 'memif' link"):
        encode_value(Interface("m", InterfaceType.MEMIF))


def test_the_memif_secret_is_not_in_the_values_repr() -> None:
    assert "s3cret" not in repr(decode_value(value_key(MEMIF_SLAVE), encode_value(MEMIF_SLAVE)))


def test_memif_socket_ids_are_stable_and_zero_for_vpps_own_file() -> None:
    assert memif_socket_id("") == memif_socket_id("/run/vpp/memif.sock") == 0
    assert memif_socket_id(SOCKET) == memif_socket_id(SOCKET) != 0
    assert 0 < memif_socket_id("/x") <= 0xFFFFFFFE


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_FIELD_NAMES = st.sampled_from(
    ["name", "type", "memif", "ip_addresses", "receive_interface", "vrf", "mtu", "id", "master"]
)


@given(
    key=st.sampled_from(
        [
            "config/vpp/v2/interfaces/m",
            "config/vpp/l2/v2/xconnect/m",
            "config/vpp/v2/route/vrf/0/dst/10.0.0.0/8/gw/",
            "config/linux/interfaces/v2/interface/m",
            "config/netalloc/v1/ip/network/n/interface/m",
        ]
    ),
    data=st.dictionaries(_FIELD_NAMES, _JSON, max_size=5) | _JSON,
)
def test_random_values_never_crash_the_decoder(key: str, data: object) -> None:
    with contextlib.suppress(VnfConfigError):
        decode_value(key, json.dumps(data))
