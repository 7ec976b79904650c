"""Names and MAC addresses of what ipnet creates (Contiv-VPP's scheme).

In: node IDs, container IDs, network names. Out: logical interface names (the scheduler keys'
names, and the VPP interface tags) trimmed to VPP's 63 characters and Linux's 15, and MAC
addresses computable on every node: the host interconnect's VPP side ``34:3c:<node id>``,
the VXLAN BVI ``12:2b:<node id>`` (so remote BVI MACs are known without ARP), pod interfaces
``02:fe:<FNV-32a of "<container>/<interface>">`` on the pod side and the bitwise NOT of that
hash on the VPP side.
"""

from __future__ import annotations

import functools

MAX_LOGICAL = 63
MAX_LINUX = 15

HOST_INTERCONNECT_VPP = "tap-vpp2"
HOST_INTERCONNECT_LINUX = "tap-vpp1"
HOST_INTERCONNECT_HOST_NAME = "vpp1"
HOST_VETH_LINUX = "veth-vpp1"  # veth mode: the end the host keeps, named vpp1
HOST_VETH_VPP = "veth-vpp2"  # the end VPP attaches to with af_packet, named vpp2
HOST_VETH_VPP_HOST_NAME = "vpp2"
HOST_AFPACKET = "afpacket-vpp2"
POD_GW_LOOP = "podGwLoop"
VXLAN_BVI = "vxlanBVI"
VXLAN_BD = "vxlanBD"
VXLAN_TUNNEL_PREFIX = "vxlan-"
LOOPBACK_NIC = "loopbackNIC"
POD_VRF_LABEL = "podVRF-IPv4"
MAIN_VRF_LABEL = "mainVRF-IPv4"


def _trim(name: str, limit: int = MAX_LOGICAL) -> str:
    return name[:limit]


def vxlan_tunnel(node_id: int, network: str = "default") -> str:
    """The tunnel to another node."""
    return _trim(f"{VXLAN_TUNNEL_PREFIX}{network}-{node_id}")


def network_gateway_loop(network: str) -> str:
    """The gateway loopback of an L3 custom network (``podGwLoop`` of the default one)."""
    return _trim(f"{POD_GW_LOOP}-{network}")


def network_vxlan_bvi(network: str) -> str:
    """The VXLAN BVI of an L3 custom network (``vxlanBVI`` of the default one)."""
    return _trim(f"{VXLAN_BVI}-{network}")


def network_vxlan_bd(network: str) -> str:
    """The VXLAN bridge domain of an L3 custom network (``vxlanBD`` of the default one)."""
    return _trim(f"{VXLAN_BD}-{network}")


def is_vxlan_tunnel(name: str) -> bool:
    """Whether ``name`` is one of the tunnels to other nodes (of any network)."""
    return name.startswith(VXLAN_TUNNEL_PREFIX)


def main_afpacket(host_if_name: str) -> str:
    """The main interface when VPP attaches to a Linux link with af_packet."""
    return _trim(f"main-{host_if_name}")


def pod_vpp_tap(container_id: str) -> str:
    """VPP's side of a pod's tap."""
    return _trim(f"vpp-tap-{container_id}")


def pod_linux_tap(container_id: str) -> str:
    """The pod's side of its tap (eth0 in the pod)."""
    return _trim(f"linux-tap-{container_id}")


def pod_veth_in_pod(container_id: str) -> str:
    """veth mode: the end inside the pod (eth0)."""
    return _trim(f"veth1-{container_id}")


def pod_veth_on_host(container_id: str) -> str:
    """veth mode: the end left in the host namespace, for VPP's af_packet."""
    return _trim(f"veth2-{container_id}")


def pod_veth_host_name(container_id: str) -> str:
    """The Linux name of the host-side veth end (15 characters at most)."""
    return container_id[:MAX_LINUX]


def pod_afpacket(container_id: str) -> str:
    """veth mode: VPP's af_packet on the host-side veth end."""
    return _trim(f"afpacket-{container_id}")


def custom_vpp_tap(interface: str, container_id: str) -> str:
    """VPP's side of a pod's custom tap."""
    return _trim(f"vpp-tap-{interface}-{container_id}")


def custom_linux_tap(interface: str, container_id: str) -> str:
    """The pod's side of its custom tap (named ``interface`` in the pod)."""
    return _trim(f"linux-tap-{interface}-{container_id}")


def custom_veth_in_pod(interface: str, container_id: str) -> str:
    """A custom veth's end inside the pod (named ``interface`` there)."""
    return _trim(f"veth1-{interface}-{container_id}")


def custom_veth_on_host(interface: str, container_id: str) -> str:
    """A custom veth's end in the host namespace, for VPP's af_packet."""
    return _trim(f"veth2-{interface}-{container_id}")


def custom_veth_host_name(interface: str, container_id: str) -> str:
    """The Linux name of a custom veth's host end: 6 characters of the container ID and a hash
    of the container and interface, so it fits 15 characters, stays unique per pod interface
    and never equals the main veth's name (the first 15 characters of the container ID)."""
    return f"{container_id[:6]}{fnv32a(f'{container_id}/{interface}'):08x}"[:MAX_LINUX]


def custom_afpacket(interface: str, container_id: str) -> str:
    """VPP's af_packet on a custom veth's host end."""
    return _trim(f"afpacket-{interface}-{container_id}")


def custom_memif(interface: str, container_id: str) -> str:
    """VPP's memif master of a pod's custom memif."""
    return _trim(f"memif-{interface}-{container_id}")


def custom_vpp_interface(kind: str, interface: str, container_id: str) -> str:
    """VPP's interface of a pod's custom interface of ``kind`` (tap, veth or memif): the tap,
    the af_packet on the veth's host end, or the memif master."""
    if kind == "tap":
        return custom_vpp_tap(interface, container_id)
    if kind == "veth":
        return custom_afpacket(interface, container_id)
    return custom_memif(interface, container_id)


def _mac(prefix: tuple[int, int], value: int) -> str:
    octets = (*prefix, *(value & 0xFFFFFFFF).to_bytes(4, "big"))
    return ":".join(f"{o:02x}" for o in octets)


def host_interconnect_mac(node_id: int) -> str:
    """VPP side of the host interconnect."""
    return _mac((0x34, 0x3C), node_id)


def vxlan_bvi_mac(node_id: int) -> str:
    """The VXLAN BVI of a node (so every node can compute every other's)."""
    return _mac((0x12, 0x2B), node_id)


@functools.lru_cache(maxsize=8192)
def fnv32a(text: str) -> int:
    """32-bit FNV-1a (remembered: a pod's names and MACs hash the same few strings about ten
    times per ADD, and in Python each hash is a loop over its bytes)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def pod_mac(container_id: str, interface: str = "") -> str:
    """The pod's side of its interface."""
    return _mac((0x02, 0xFE), fnv32a(f"{container_id}/{interface}"))


def pod_vpp_mac(container_id: str, interface: str = "") -> str:
    """VPP's side of the pod's interface."""
    return _mac((0x02, 0xFE), ~fnv32a(f"{container_id}/{interface}"))


def sfc_tunnel(chain_label: str, hop: int) -> str:
    """The VXLAN tunnel of a chain's hop between nodes (hop i joins elements i and i+1); also
    the label its VNI is allocated under, so both nodes get the same VNI. A label too long
    for 63 characters is cut and a hash of the whole label kept, so hops and chains stay
    apart."""
    suffix = f"-{hop}"
    name = f"sfc-{chain_label}{suffix}"
    if len(name) <= MAX_LOGICAL:
        return name
    digest = f"{fnv32a(chain_label):08x}"
    keep = MAX_LOGICAL - len("sfc-") - len(suffix) - len(digest) - 1
    return f"sfc-{chain_label[:keep]}~{digest}{suffix}"


def vlan_subinterface(parent: str, vlan: int) -> str:
    """A VLAN sub-interface of ``parent`` (VPP's own name for it, and Contiv's)."""
    return f"{parent}.{vlan}"


def pod_vpp_interface(container_id: str, *, use_tap: bool = True) -> str:
    """VPP's interface towards a pod's main interface: its tap, or (veth mode) the af_packet
    on the host end of its veth."""
    return pod_vpp_tap(container_id) if use_tap else pod_afpacket(container_id)


#: the tag of the NAT identity mappings that keep the node's own address untranslated
NAT_IDENTITIES_TAG = "DNAT-identities"
