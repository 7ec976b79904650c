"""The simulated VPP's debug CLI, as ``cli_inband`` (and ``vppctl``) answer it.

In: a :class:`~contivpy.sim.vpp.state.VppState` and one command line. Out: (retval, text) as
VPP 26.06 answers: 0 and the command's output, or -1 and VPP's own error text for input it
cannot parse (``unknown input `foo'``, ``show: unknown input `foo'``,
``show interface: unknown input `nosuch'``). Words may be shortened to a unique prefix
(``sh int addr``), as VPP's parser allows.

The ``show`` commands modelled, in VPP's layout (column widths and centring as VPP prints
them, checked against a real VPP 26.06): ``show version``, ``show interface [address]
[NAME...]``, ``show ip|ip6 table``, ``show ip|ip6 fib [table N]`` (the routes the API reads
back, VPP's own included; forwarding chains simplified, no counters), ``show bridge-domain
[ID [detail]]``, ``show l2fib [verbose]``, ``show vxlan tunnel`` and ``show memif``. Nothing
configures: any other command is unknown input. Counters are not modelled (always empty).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contivpy.sim.vpp.fib_view import PATH_DROP, PATH_LOCAL, system_routes
from contivpy.sim.vpp.model import BridgeDomain, Path, PortType
from contivpy.sim.vpp.show import show_interface_addr, show_memif
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.wire import NO_INDEX, IpNetwork

#: show_version's fields (also what ``show version`` prints)
VERSION = {
    "program": "vpe",
    "version": "26.06-release",
    "build_date": "contivpy simulator",
    "build_directory": "/contivpy/sim/vpp",
}

#: VPP's retval for a command line its parser refused
CLI_ERROR = -1
_LEARN_LIMIT = 16777216  # VPP's default bridge-domain learn limit


class _Refused(Exception):
    """A command VPP refuses; the message is VPP's text for it."""


class _Unknown(_Refused):
    """Input the parser cannot take: the words matched so far and the rest of the line."""

    def __init__(self, path: Sequence[str], rest: Sequence[str]) -> None:
        where = f"{' '.join(path)}: " if path else ""
        super().__init__(f"{where}unknown input `{' '.join(rest)}'")


def run_cli(state: VppState, command: str) -> tuple[int, str]:
    """Run one command line: (0, output) or (-1, VPP's error text)."""
    words = command.split()
    try:
        return 0, _dispatch(state, words)
    except _Refused as refused:
        return CLI_ERROR, f"{refused}\n"


def _pick(word: str, options: Sequence[str]) -> str | None:
    """The option ``word`` names: itself, or the one it is a unique prefix of."""
    if word in options:
        return word
    found = [o for o in options if o.startswith(word)]
    return found[0] if len(found) == 1 else None


def _dispatch(state: VppState, words: list[str]) -> str:
    if not words or _pick(words[0], ("show",)) is None:
        raise _Unknown((), words)
    if len(words) < 2:
        raise _Unknown(("show",), [])
    what = _pick(words[1], tuple(_SHOW))
    if what is None:
        raise _Unknown(("show",), words[1:])
    return _SHOW[what](state, words[2:])


# --- show version / interface -------------------------------------------------------------


def _version(state: VppState, args: list[str]) -> str:
    if args:
        raise _Unknown(("show", "version"), args)
    return f"vpp v{VERSION['version']} built by contivpy on vppsim at {VERSION['build_date']}\n"


def _centre(value: object, width: int) -> str:
    """VPP's ``%=Ns``: centred, the odd space on the left."""
    text = str(value)
    pad = max(0, width - len(text))
    left = (pad + 1) // 2
    return " " * left + text + " " * (pad - left)


def _interface(state: VppState, args: list[str]) -> str:
    """The table of interfaces, or their addresses; of every interface, or of those named
    (an unknown name is unknown input)."""
    address = bool(args) and _pick(args[0], ("address",)) is not None
    names = args[1:] if address else args
    for position, name in enumerate(names):
        if state.by_name(name) is None:
            raise _Unknown(("show", "interface"), names[position:])
    if not address:
        return _interface_table(state, names)
    text = show_interface_addr(state)
    return _only_blocks(text, set(names)) if names else text


def _only_blocks(text: str, names: set[str]) -> str:
    """``show interface address`` blocks of the named interfaces."""
    out: list[str] = []
    keep = False
    for line in text.splitlines():
        if not line.startswith(" "):
            keep = line.split(" ", 1)[0] in names
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def _interface_table(state: VppState, names: Sequence[str] = ()) -> str:
    lines = [
        _centre("Name", 32)
        + "".join(
            _centre(h, w)
            for h, w in (
                ("Idx", 5),
                ("State", 10),
                ("MTU (L3/IP4/IP6/MPLS)", 21),
                ("Counter", 16),
                ("Count", 16),
            )
        )
    ]
    for iface in sorted(state.interfaces.values(), key=lambda i: i.name):
        if names and iface.name not in names:
            continue
        mtu = "/".join(str(m) for m in iface.mtu)
        lines.append(
            iface.name.ljust(32)
            + _centre(iface.sw_if_index, 5)
            + _centre("up" if iface.admin_up else "down", 10)
            + _centre(mtu, 21)
        )
    return "\n".join(lines) + "\n"


# --- show ip / ip6 ------------------------------------------------------------------------


def _ip(state: VppState, args: list[str]) -> str:
    return _ip_family(state, args, is_ip6=False)


def _ip6(state: VppState, args: list[str]) -> str:
    return _ip_family(state, args, is_ip6=True)


def _ip_family(state: VppState, args: list[str], *, is_ip6: bool) -> str:
    path = ("show", "ip6" if is_ip6 else "ip")
    what = _pick(args[0], ("fib", "table")) if args else None
    if what is None:
        raise _Unknown(path, args)
    tables = [t for (six, _), t in state.tables.items() if six == is_ip6]
    if what == "table":
        if len(args) > 1:
            raise _Unknown((*path, "table"), args[1:])
        return "".join(f"[{i}] table_id:{t.table_id} {t.name}\n" for i, t in enumerate(tables))
    rest = args[1:]
    only: int | None = None
    if rest:
        if _pick(rest[0], ("table",)) is None or len(rest) != 2 or not rest[1].isdigit():
            raise _Unknown((*path, "fib"), rest)
        only = int(rest[1])
    counter = iter(range(1, 1 << 30))
    out: list[str] = []
    for index, table in enumerate(tables):
        if only is not None and table.table_id != only:
            continue
        out.append(
            f"{table.name}, fib_index:{index}, flow hash:[src dst sport dport proto flowlabel ] "
            "epoch:0 flags:none locks:[default-route:1, ]"
        )
        routes = system_routes(state, is_ip6, table.table_id)
        for prefix, route in state.routes.get((is_ip6, table.table_id), {}).items():
            routes[prefix] = route.paths
        for prefix in sorted(routes, key=lambda p: (p.network_address, p.prefixlen)):
            out.extend(_fib_entry(state, prefix, routes[prefix], next(counter)))
    return "".join(line + "\n" for line in out)


def _fib_entry(state: VppState, prefix: IpNetwork, paths: list[Path], index: int) -> list[str]:
    proto = "ip6" if prefix.version == 6 else "ip4"
    lines = [
        str(prefix),
        f"  unicast-{proto}-chain",
        f"  [@0]: dpo-load-balance: [proto:{proto} index:{index} buckets:{len(paths)} "
        f"uRPF:{index} to:[0:0]]",
    ]
    for bucket, path in enumerate(paths):
        lines.append(f"    [{bucket}] {_path_text(state, prefix, path)}")
    return lines


def _path_text(state: VppState, prefix: IpNetwork, path: Path) -> str:
    proto = "ip6" if prefix.version == 6 else "ip4"
    iface = state.interfaces.get(path.sw_if_index) if path.sw_if_index != NO_INDEX else None
    ifname = iface.name if iface is not None else ""
    if path.type == PATH_DROP:
        return f"[@0]: dpo-drop {proto}"
    if path.type == PATH_LOCAL:
        if iface is None:
            return "[@14]: ip6-link-local" if prefix.version == 6 else f"[@0]: dpo-drop {proto}"
        return f"[@11]: dpo-receive: {prefix.network_address} on {ifname}"
    if path.next_hop is not None:
        resolver = "ip6-nd" if prefix.version == 6 else "arp-ipv4"
        if iface is None:
            return f"[@0]: recursive via {path.next_hop} in table {path.table_id}"
        return f"[@3]: {resolver}: via {path.next_hop} {ifname}"
    if iface is not None:
        family = "ipv6" if prefix.version == 6 else "ipv4"
        return f"[@4]: {family}-glean: [src:{prefix}] {ifname}"
    family = "ipv6" if prefix.version == 6 else "ipv4"
    return f"[@12]: dst-address,unicast lookup in {family}-VRF:{path.table_id}"


# --- L2 -----------------------------------------------------------------------------------

_BD_WIDTHS = (8, 7, 4, 9, 9, 9, 11, 9, 9, 9, 8, 8, 11)
_BD_HEADERS = (
    "BD-ID",
    "Index",
    "BSN",
    "Age(min)",
    "Learning",
    "U-Forwrd",
    "UU-Flood",
    "Flooding",
    "ARP-Term",
    "arp-ufwd",
    "Learn-co",
    "Learn-li",
    "BVI-Intf",
)


def _bd_row(cells: Sequence[object]) -> str:
    return " ".join(_centre(c, w) for c, w in zip(cells, _BD_WIDTHS, strict=True))


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _bd_index(state: VppState) -> dict[int, int]:
    """VPP's internal index of each bridge domain (0 is its own default domain)."""
    return {bd_id: position for position, bd_id in enumerate(state.bridge_domains, 1)}


def _bridge_domain(state: VppState, args: list[str]) -> str:
    path = ("show", "bridge-domain")
    domains = list(state.bridge_domains.values())
    detail = False
    if args:
        if not args[0].isdigit():
            raise _Unknown(path, args)
        bd_id = int(args[0])
        if bd_id not in state.bridge_domains:
            raise _Refused(f"show bridge-domain: No such bridge domain {bd_id}")
        domains = [state.bridge_domains[bd_id]]
        if len(args) > 1:
            if _pick(args[1], ("detail",)) is None or len(args) > 2:
                raise _Unknown((), args[1:])
            detail = True
    if not domains:
        return "no bridge-domains in use\n"
    indexes = _bd_index(state)
    lines = [_bd_row(_BD_HEADERS)]
    for bd in domains:
        lines.append(_bd_row(_bd_cells(state, bd, indexes[bd.bd_id])))
        if detail:
            lines.extend(["", *_bd_members(state, bd)])
    return "\n".join(lines) + "\n"


def _bd_cells(state: VppState, bd: BridgeDomain, index: int) -> list[object]:
    s = bd.settings
    bvi = state.interfaces.get(bd.bvi) if bd.bvi is not None else None
    learned = sum(1 for e in state.l2fib.values() if e.bd_id == bd.bd_id and not e.static)
    return [
        bd.bd_id,
        index,
        0,
        s.mac_age or "off",
        _on(s.learn),
        _on(s.forward),
        "flood" if s.uu_flood else "drop",
        _on(s.flood),
        _on(s.arp_term),
        _on(s.arp_ufwd),
        learned,
        _LEARN_LIMIT,
        bvi.name if bvi is not None else "N/A",
    ]


def _bd_members(state: VppState, bd: BridgeDomain) -> list[str]:
    widths = (30, 7, 4, 5, 5, 9, 25)
    headers = ("Interface", "If-idx", "ISN", "SHG", "BVI", "TxFlood", "VLAN-Tag-Rewrite")
    lines = ["".join(_centre(h, w) for h, w in zip(headers, widths, strict=True))]
    for member in bd.members.values():
        iface = state.interfaces.get(member.sw_if_index)
        cells = (
            iface.name if iface is not None else member.sw_if_index,
            member.sw_if_index,
            1,
            member.shg,
            "*" if member.port_type == PortType.BVI else "-",
            "*",
            "none",
        )
        lines.append("".join(_centre(c, w) for c, w in zip(cells, widths, strict=True)))
    return lines


def _l2fib(state: VppState, args: list[str]) -> str:
    verbose = False
    if args:
        if _pick(args[0], ("verbose", "all")) is None or len(args) > 1:
            raise _Unknown((), args)
        verbose = True
    entries = list(state.l2fib.values())
    learned = sum(1 for e in entries if not e.static)
    summary = (
        f"L2FIB total/learned entries: {len(entries)}/{learned}  "
        f"Last scan time: 0.0000e0sec  Learn limit: {_LEARN_LIMIT} \n"
    )
    if not verbose:
        return summary
    widths = (19, 7, 7, 8, 9, 7, 7, 5, 30)
    headers = (
        "Mac-Address",
        "BD-Idx",
        "If-Idx",
        "BSN-ISN",
        "Age(min)",
        "static",
        "filter",
        "bvi",
        "Interface-Name",
    )
    indexes = _bd_index(state)
    lines = ["".join(_centre(h, w) for h, w in zip(headers, widths, strict=True))]
    for entry in entries:
        iface = state.interfaces.get(entry.sw_if_index)
        cells = (
            ":".join(f"{b:02x}" for b in entry.mac),
            indexes.get(entry.bd_id, entry.bd_id),
            entry.sw_if_index,
            "0/0",
            "no",
            "*" if entry.static else "-",
            "*" if entry.filter else "-",
            "*" if entry.bvi else "-",
            iface.name if iface is not None else "N/A",
        )
        lines.append("".join(_centre(c, w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines) + "\n" + summary


def _vxlan(state: VppState, args: list[str]) -> str:
    if not args or _pick(args[0], ("tunnel",)) is None:
        raise _Unknown(("show", "vxlan"), args)
    if len(args) > 1:
        raise _Unknown(("show", "vxlan", "tunnel"), args[1:])
    tunnels = [i for i in state.interfaces.values() if i.vxlan is not None]
    if not tunnels:
        return "No vxlan tunnels configured...\n"
    ip4_tables = [table_id for is_ip6, table_id in state.tables if not is_ip6]
    fib_index = {table_id: index for index, table_id in enumerate(ip4_tables)}
    lines = []
    for iface in sorted(tunnels, key=lambda i: i.vxlan.instance if i.vxlan else 0):
        info = iface.vxlan
        assert info is not None
        lines.append(
            f"[{info.instance}] instance {info.instance} src {info.src} dst {info.dst} "
            f"src_port {info.src_port} dst_port {info.dst_port} vni {info.vni} "
            f"fib-idx {fib_index.get(info.encap_vrf_id, 0)} sw-if-idx {iface.sw_if_index} "
            "encap-dpo-idx 0 "
        )
    return "\n".join(lines) + "\n"


def _memif(state: VppState, args: list[str]) -> str:
    if args:
        raise _Unknown(("show", "memif"), args)
    return show_memif(state)


_SHOW: dict[str, Callable[[VppState, list[str]], str]] = {
    "version": _version,
    "interface": _interface,
    "ip": _ip,
    "ip6": _ip6,
    "bridge-domain": _bridge_domain,
    "l2fib": _l2fib,
    "vxlan": _vxlan,
    "memif": _memif,
}
