"""Contiv's address plan and pod IP allocation, and settings validation."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contivpy.controllers.addressing import AddressPlan, AddressPlanError, node_slice
from contivpy.controllers.pod_ips import PodID, PodIpAllocator, PodSubnetExhaustedError
from contivpy.errors import ConfigError
from contivpy.settings import AgentSettings, IpamSettings, load_agent_settings

ip = ipaddress.ip_address


def test_contiv_defaults_for_node_5() -> None:
    node = AddressPlan(IpamSettings()).node(5)
    assert str(node.pod_subnet) == "10.1.5.0/24"
    assert node.pod_gateway == ip("10.1.5.1")
    assert node.nat_loopback == ip("10.1.5.254")
    assert (node.host_vpp_address, node.host_linux_address) == (ip("172.30.5.1"), ip("172.30.5.2"))
    assert node.node_address == ip("192.168.16.5")
    assert node.vxlan_address == ip("192.168.30.5")
    assert node.pod_ip_range == (2, 253)


def test_last_node_id_wraps_to_slice_zero_and_beyond_is_refused() -> None:
    settings = IpamSettings()
    assert str(node_slice(settings.pod_subnet_cidr, 24, 256)) == "10.1.0.0/24"
    with pytest.raises(AddressPlanError):
        node_slice(settings.pod_subnet_cidr, 24, 257)
    # A /24 node interconnect has no host number 255 (broadcast) or 256 (network): such a
    # node cannot be planned, and says so.
    with pytest.raises(AddressPlanError, match=r"192\.168\.16\.0/24"):
        AddressPlan(settings).node(255)


def test_node_address_skips_the_gateway() -> None:
    settings = IpamSettings(default_gateway=ip("192.168.16.3"))
    plan = AddressPlan(settings)
    assert plan.node(2).node_address == ip("192.168.16.2")
    assert plan.node(3).node_address == ip("192.168.16.4")


@given(st.integers(1, 256), st.integers(2, 253))
def test_node_id_of_pod_ip_inverts_the_plan(node_id: int, host: int) -> None:
    plan = AddressPlan(IpamSettings())
    subnet = node_slice(plan.settings.pod_subnet_cidr, 24, node_id)
    assert plan.node_id_of_pod_ip(subnet.network_address + host) == node_id


def test_allocation_is_round_robin_unique_and_skips_reserved() -> None:
    subnet = ipaddress.ip_network("10.1.1.0/29")  # hosts 2..5 allocatable (1 gw, 6 NAT loopback)
    pods = PodIpAllocator(subnet, 2, 5)
    got = [pods.allocate(PodID("ns", f"p{i}")) for i in range(4)]
    assert got == [ip(f"10.1.1.{h}") for h in (2, 3, 4, 5)]
    with pytest.raises(PodSubnetExhaustedError, match=r"10\.1\.1\.0/29"):
        pods.allocate(PodID("ns", "p4"))
    assert pods.allocate(PodID("ns", "p1")) == ip("10.1.1.3")  # same pod, same address
    pods.release(PodID("ns", "p0"))
    pods.release(PodID("ns", "p2"))
    # Round-robin: the next free after the last given (5) wraps to 2, not 4.
    assert pods.allocate(PodID("ns", "new")) == ip("10.1.1.2")


def test_restore_keeps_the_first_holder() -> None:
    pods = PodIpAllocator(ipaddress.ip_network("10.1.1.0/24"), 2, 253)
    assert pods.restore(PodID("a", "x"), ip("10.1.1.7"))
    assert not pods.restore(PodID("a", "y"), ip("10.1.1.7"))
    assert not pods.restore(PodID("a", "z"), ip("10.1.2.7"))
    assert not pods.restore(PodID("a", "z"), ip("10.1.1.1"))  # the gateway is never a pod's
    assert pods.allocate(PodID("a", "y")) == ip("10.1.1.8")


def test_settings_load_and_name_the_bad_field() -> None:
    settings = load_agent_settings(
        {
            "nodeName": "n1",
            "ipam": {"podSubnetCIDR": "10.2.0.0/16"},
            "interfaces": {"mtuSize": 1500},
        }
    )
    assert str(settings.ipam.pod_subnet_cidr) == "10.2.0.0/16"
    assert settings.interfaces.mtu_size == 1500
    with pytest.raises(ConfigError, match=r"ipam\.podSubnetCIDR"):
        load_agent_settings({"nodeName": "n1", "ipam": {"podSubnetCIDR": "10.2.0.0/33"}})
    with pytest.raises(ConfigError, match=r"interfaces\.mtuSize: expected an integer"):
        load_agent_settings({"nodeName": "n1", "interfaces": {"mtuSize": "big"}})
    with pytest.raises(ConfigError, match=r"ipam\.podSubnetCIDR .* overlaps ipam\.serviceCIDR"):
        load_agent_settings({"nodeName": "n1", "ipam": {"serviceCIDR": "10.0.0.0/12"}})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_agent_settings({"nodeName": "n1", "podSubnet": "x"})
    with pytest.raises(ConfigError, match="nodeName"):
        AgentSettings().validate()
