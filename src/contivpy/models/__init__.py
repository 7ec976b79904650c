"""Values and keys contivpy's scheduler works with.

In: nothing (plain data). Out: immutable (frozen, slotted) dataclasses that controllers put
into transactions and descriptors read back from VPP, and the keys they live under:

- ``vpp_interfaces``: :class:`Interface` with its type-specific link (tap, memif, af_packet,
  sub-interface, VXLAN);
- ``vpp_l3``: VRF tables, routes, static neighbours (ARP), proxy ARP;
- ``vpp_l2``: bridge domains with their members, L2 FIB entries, cross-connects;
- ``vpp_derived``: the values descriptors derive from those (an interface's addresses and VRF
  bindings, bridge-domain members, ...);
- ``vpp_keys``: vpp-agent's key layout, one build/parse pair per kind;
- ``vnf_config`` (with ``vnf_fields``): vpp-agent's NB keys and JSON values under
  ``/vnf-agent/<microservice>/config/`` <-> these models (CNF configuration);
- Kubernetes models and their codecs live in their own modules of this package.

Validation lives with the descriptors (``contivpy.descriptors``): a value here may be
anything; a descriptor says which field is wrong.
"""

from contivpy.models.vpp_derived import (
    BridgeDomainMember,
    InheritedVrf,
    InterfaceAddress,
    InterfaceHasAddress,
    InterfaceTagRewrite,
    InterfaceVrf,
    ProxyARPInterface,
    UnnumberedBinding,
)
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    Link,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain, L2FIBAction, XConnect
from contivpy.models.vpp_l3 import (
    IPNeighbor,
    IpProtocol,
    ProxyARP,
    ProxyARPRange,
    Route,
    RouteType,
    VrfTable,
)

__all__ = [
    "L2FIB",
    "AfPacketLink",
    "BDInterface",
    "BridgeDomain",
    "BridgeDomainMember",
    "IPNeighbor",
    "InheritedVrf",
    "Interface",
    "InterfaceAddress",
    "InterfaceHasAddress",
    "InterfaceTagRewrite",
    "InterfaceType",
    "InterfaceVrf",
    "IpProtocol",
    "L2FIBAction",
    "Link",
    "MemifLink",
    "MemifMode",
    "ProxyARP",
    "ProxyARPInterface",
    "ProxyARPRange",
    "Route",
    "RouteType",
    "SubInterfaceLink",
    "TapLink",
    "UnnumberedBinding",
    "VrfTable",
    "VxlanLink",
    "XConnect",
]
