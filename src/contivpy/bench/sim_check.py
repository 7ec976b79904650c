"""Whether a simulated VPP holds exactly what the scheduler benchmark desired.

In: the simulator's state (:class:`~contivpy.sim.vpp.state.VppState`, read directly, not
through the descriptors being measured) and a desired state of taps and bridge domains
(``contivpy.models``). Out: ``mismatches``, how VPP differs (empty when it holds exactly the
desired objects), and ``check``, which records them in ``Problems``.

Compared: each desired tap by its tag (the interface's name), with its type, MTU, MAC, admin
state and Linux name; each desired bridge domain by its tag, with its settings and its
members (as a set of interfaces). Tagged interfaces or domains nobody desired are extras.
"""

from __future__ import annotations

from collections.abc import Mapping

from contivpy.bench.verify import Problems
from contivpy.models.vpp_interfaces import Interface, TapLink
from contivpy.models.vpp_l2 import BridgeDomain
from contivpy.sim.vpp.model import BridgeDomain as SimBridgeDomain
from contivpy.sim.vpp.model import Interface as SimInterface
from contivpy.sim.vpp.model import Kind
from contivpy.sim.vpp.state import VppState

_SHOWN = 5  # mismatches named per check; the rest are counted


def check(problems: Problems, label: str, state: VppState, desired: Mapping[str, object]) -> bool:
    """Record how VPP differs from ``desired`` (nothing when it holds exactly that)."""
    found = mismatches(state, desired)
    if found:
        more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
        problems.add(f"{label}: VPP differs from desired: {'; '.join(found[:_SHOWN])}{more}")
        return False
    return True


def mismatches(state: VppState, desired: Mapping[str, object]) -> list[str]:
    """How VPP differs from ``desired`` (empty when it holds exactly that)."""
    want_ifs = {v.name: v for v in desired.values() if isinstance(v, Interface)}
    want_bds = {v.name: v for v in desired.values() if isinstance(v, BridgeDomain)}
    have_ifs = {i.tag: i for i in state.interfaces.values() if i.tag}
    have_bds = {bd.settings.tag: bd for bd in state.bridge_domains.values() if bd.settings.tag}
    out: list[str] = []
    for name in sorted(want_ifs.keys() | have_ifs.keys()):
        want, have = want_ifs.get(name), have_ifs.get(name)
        if want is None or have is None:
            out.append(f"interface {name}: desired {want}, found {have}")
            continue
        out.extend(f"interface {name}: {d}" for d in _interface_differences(want, have))
    for name in sorted(want_bds.keys() | have_bds.keys()):
        want_bd, have_bd = want_bds.get(name), have_bds.get(name)
        if want_bd is None or have_bd is None:
            out.append(f"bridge domain {name}: desired {want_bd}, found {have_bd}")
            continue
        out.extend(
            f"bridge domain {name}: {d}" for d in _domain_differences(want_bd, have_bd, have_ifs)
        )
    return out


def _interface_differences(want: Interface, have: SimInterface) -> list[str]:
    out = []
    if have.kind is not Kind.TAP or not isinstance(want.link, TapLink) or have.tap is None:
        return [f"a {have.kind.value} in VPP, desired {want.type.value}"]
    if want.mtu and have.mtu[0] != want.mtu:
        out.append(f"MTU {have.mtu[0]}, desired {want.mtu}")
    if want.phys_address and have.mac != bytes.fromhex(want.phys_address.replace(":", "")):
        out.append(f"MAC {have.mac.hex(':')}, desired {want.phys_address}")
    if have.admin_up != want.enabled:
        out.append(f"admin {'up' if have.admin_up else 'down'}, desired the opposite")
    if have.tap.host_if_name != want.link.host_if_name:
        out.append(f"Linux name {have.tap.host_if_name!r}, desired {want.link.host_if_name!r}")
    return out


def _domain_differences(
    want: BridgeDomain, have: SimBridgeDomain, interfaces: Mapping[str, SimInterface]
) -> list[str]:
    out = []
    settings = have.settings
    found = (
        settings.flood,
        settings.uu_flood,
        settings.forward,
        settings.learn,
        settings.arp_term,
        settings.mac_age,
    )
    wanted = (
        want.flood,
        want.unknown_unicast_flood,
        want.forward,
        want.learn,
        want.arp_termination,
        want.mac_age,
    )
    if found != wanted:
        out.append(f"settings {settings}")
    members = set(have.members)
    expected = {interfaces[m.name].sw_if_index for m in want.interfaces if m.name in interfaces}
    missing, extra = expected - members, members - expected
    unknown = sum(1 for m in want.interfaces if m.name not in interfaces)
    if missing or extra or unknown:
        out.append(f"{len(missing) + unknown} member(s) missing, {len(extra)} extra")
    bvi = {
        interfaces[m.name].sw_if_index for m in want.interfaces if m.bvi and m.name in interfaces
    }
    if ({have.bvi} if have.bvi is not None else set()) != bvi:
        out.append(f"BVI {have.bvi}, desired {bvi or None}")
    return out
