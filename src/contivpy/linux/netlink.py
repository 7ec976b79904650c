"""Netlink for the pod side: network namespaces, links, addresses, routes, neighbours, sysctl.

In: typed requests (names, ``NetnsRef``, ``RouteSpec``, ``LinkSettings``). Out: frozen results
from ``contivpy.linux.netlink_types`` and errors from ``contivpy.linux.errors`` (pyroute2's
chained as ``__cause__``). This is the only module that imports pyroute2.

How: pyroute2's calls block, so every call runs in one dedicated worker thread (a
single-worker executor); the event loop only awaits. A netlink socket belongs to the namespace
it was opened in, so a call into a pod's namespace switches the *worker thread* there
(``setns`` is per thread), opens its socket, and switches back at once; the agent's main
thread never changes namespace. Sockets are opened per call and closed after it: a socket
kept open would pin a pod's namespace and keep its veth alive after the pod is gone.
``None`` as a namespace means the agent's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog
from pyroute2 import IPRoute
from pyroute2 import netns as pyroute2_netns
from pyroute2.netlink.exceptions import NetlinkError as Pyroute2NetlinkError

from contivpy.linux.errors import (
    LinkNotFoundError,
    LinuxError,
    NetnsNotFoundError,
    netlink_error,
)
from contivpy.linux.netlink_types import (
    MAIN_TABLE,
    NETNS_RUN_DIR,
    NUD_PERMANENT,
    AddressInfo,
    LinkInfo,
    LinkSettings,
    NeighbourInfo,
    NetnsRef,
    RouteInfo,
    RouteSpec,
    describe_netns,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")
Netns = NetnsRef | None

_CLONE_NEWNET = 0x40000000
_IFF_UP = 0x1
# ethtool's ioctl: struct ethtool_value {cmd, data} behind an ifreq's data pointer (one call,
# where pyroute2's feature set reads every feature's name first: 200 times the cost)
_SIOCETHTOOL = 0x8946
_ETHTOOL_GTXCSUM, _ETHTOOL_STXCSUM = 0x16, 0x17
_IFREQ_SIZE = 40
_IFF_LOOPBACK = 0x8
_libc = ctypes.CDLL(None, use_errno=True)


class Netlink:
    """Async netlink client; one worker thread serialises every kernel call."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._home_fd = -1  # the agent's namespace; opened and used by the worker only
        self._stranded = False  # the worker could not return to the agent's namespace
        self.reads = 0  # dump/lookup calls made
        self.writes = 0  # calls that change the kernel

    async def close(self) -> None:
        """Stop the worker thread (waits for the call in progress)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown, True)
        if self._home_fd >= 0:
            os.close(self._home_fd)
            self._home_fd = -1

    async def _call(self, write: bool, fn: Callable[..., T], *args: Any) -> T:
        if write:
            self.writes += 1
        else:
            self.reads += 1
        if self._stranded and self._pool is not None:
            # Never reuse a thread left in another namespace: a new one starts in ours.
            self._pool.shutdown(wait=False)
            self._pool, self._stranded = None, False
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="contivpy-netlink")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # --- namespaces ------------------------------------------------------------------------

    async def create_netns(self, name: str) -> NetnsRef:
        """Create a named namespace (``ip netns add``); ObjectExistsError when it exists."""
        return await self._call(True, self._create_netns, NetnsRef.named(name))

    async def delete_netns(self, name: str) -> bool:
        """Delete a named namespace (``ip netns del``); False when there was none."""
        return await self._call(True, self._delete_netns, NetnsRef.named(name))

    async def list_netns(self) -> tuple[str, ...]:
        """Names of the named namespaces."""
        return await self._call(False, _list_netns)

    async def netns_exists(self, netns: NetnsRef) -> bool:
        """True when the namespace file exists and is a network namespace."""
        return await self._call(False, self._netns_exists, netns)

    # --- links -----------------------------------------------------------------------------

    async def links(self, netns: Netns = None) -> tuple[LinkInfo, ...]:
        """Every link in the namespace."""
        return await self._call(False, self._links, netns)

    async def link(self, name: str, netns: Netns = None) -> LinkInfo:
        """One link by name; LinkNotFoundError when there is none."""
        return await self._call(False, self._link, name, netns)

    async def set_link(self, name: str, settings: LinkSettings, netns: Netns = None) -> None:
        """Change a link's state, MTU, MAC, alias and/or name in one request."""
        await self._call(True, self._set_link, name, settings, netns)

    async def tx_checksum(self, name: str, netns: Netns = None) -> bool:
        """Whether the link computes TX checksums lazily (offloaded: ethtool's ``tx on``)."""
        return await self._call(False, self._tx_checksum, name, netns)

    async def move_link(
        self, name: str, to: Netns, netns: Netns = None, new_name: str | None = None
    ) -> None:
        """Move a link to namespace ``to`` (then rename it there when ``new_name``)."""
        await self._call(True, self._move_link, name, to, netns, new_name)

    async def create_veth(
        self, name: str, peer: str, netns: Netns = None, peer_netns: Netns = None
    ) -> None:
        """Create a veth pair: ``name`` in ``netns``, ``peer`` in ``peer_netns``."""
        await self._call(True, self._create_veth, name, peer, netns, peer_netns)

    async def delete_link(self, name: str, netns: Netns = None) -> None:
        """Delete a link (a veth's peer goes with it)."""
        await self._call(True, self._delete_link, name, netns)

    # --- addresses, routes, neighbours -----------------------------------------------------

    async def addresses(self, netns: Netns = None) -> tuple[AddressInfo, ...]:
        """Every address in the namespace."""
        return await self._call(False, self._addresses, netns)

    async def add_address(self, link: str, address: str, netns: Netns = None) -> None:
        """Add "ip/len" to a link; ObjectExistsError when it is there."""
        await self._call(True, self._address, "add", link, address, netns)

    async def delete_address(self, link: str, address: str, netns: Netns = None) -> None:
        """Remove "ip/len" from a link; ObjectMissingError when it is not there."""
        await self._call(True, self._address, "del", link, address, netns)

    async def routes(self, netns: Netns = None, table: int = MAIN_TABLE) -> tuple[RouteInfo, ...]:
        """Every route of one table (IPv4 and IPv6)."""
        return await self._call(False, self._routes, netns, table)

    async def add_route(self, route: RouteSpec, netns: Netns = None) -> None:
        """Add a route; ObjectExistsError when it is there."""
        await self._call(True, self._route, "add", route, netns)

    async def delete_route(self, route: RouteSpec, netns: Netns = None) -> None:
        """Delete a route; ObjectMissingError when it is not there."""
        await self._call(True, self._route, "del", route, netns)

    async def neighbours(self, netns: Netns = None) -> tuple[NeighbourInfo, ...]:
        """Every neighbour entry (ARP and NDP)."""
        return await self._call(False, self._neighbours, netns)

    async def set_neighbour(self, link: str, ip: str, mac: str, netns: Netns = None) -> None:
        """Add or replace a permanent (static) neighbour entry."""
        await self._call(True, self._set_neighbour, link, ip, mac, netns)

    async def delete_neighbour(self, link: str, ip: str, netns: Netns = None) -> None:
        """Delete a neighbour entry; ObjectMissingError when it is not there."""
        await self._call(True, self._delete_neighbour, link, ip, netns)

    # --- sysctl ----------------------------------------------------------------------------

    async def read_sysctl(self, name: str, netns: Netns = None) -> str:
        """A sysctl ("net.ipv6.conf.all.disable_ipv6") as the namespace sees it."""
        return await self._call(False, self._sysctl, name, None, netns)

    async def write_sysctl(self, name: str, value: str, netns: Netns = None) -> None:
        """Set a sysctl in the namespace (net.* sysctls are per namespace)."""
        await self._call(True, self._sysctl, name, value, netns)

    # === the worker thread's side ==========================================================

    def _home(self) -> int:
        if self._home_fd < 0:
            # /proc/self is the thread-group leader: the agent's (never switched) namespace
            self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        return self._home_fd

    def _go_home(self) -> None:
        if _libc.setns(self._home(), _CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            # A worker stuck in a pod's namespace would act there from now on: replace it.
            self._stranded = True
            log.error("netlink worker cannot return to the agent's netns", errno=code)
            raise netlink_error("return to the agent's netns", code)

    @contextlib.contextmanager
    def _inside(self, netns: Netns) -> Iterator[None]:
        """Run the body with this thread in ``netns``."""
        if netns is None:
            yield
            return
        self._home()
        fd = _open_netns(netns)
        try:
            if _libc.setns(fd, _CLONE_NEWNET) != 0:
                raise NetnsNotFoundError(netns.path, ctypes.get_errno())
            try:
                yield
            finally:
                self._go_home()
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _socket(self, netns: Netns, operation: str) -> Iterator[Any]:
        """An IPRoute socket opened in ``netns``; pyroute2 and OS errors translated."""
        with self._inside(netns):
            ipr = _translated(operation, IPRoute)
        try:
            with _translating(operation):
                yield ipr
        finally:
            ipr.close()

    def _create_netns(self, netns: NetnsRef) -> NetnsRef:
        name = netns.name or ""
        if name in _list_netns():
            raise netlink_error(f"create netns {name}", errno.EEXIST)
        self._home()
        if _libc.unshare(_CLONE_NEWNET) != 0:
            raise netlink_error(f"create netns {name}", ctypes.get_errno())
        try:
            # bind-mount this thread's fresh namespace to /var/run/netns/<name>
            task = f"{os.getpid()}/task/{threading.get_native_id()}"
            _translated(f"create netns {name}", pyroute2_netns.attach, name, task)
        finally:
            self._go_home()
        return netns

    def _delete_netns(self, netns: NetnsRef) -> bool:
        name = netns.name or ""
        if name not in _list_netns():
            return False
        _translated(f"delete netns {name}", pyroute2_netns.remove, name)
        return True

    def _netns_exists(self, netns: NetnsRef) -> bool:
        try:
            with self._inside(netns):
                return True
        except NetnsNotFoundError:
            return False

    def _links(self, netns: Netns) -> tuple[LinkInfo, ...]:
        with self._socket(netns, f"dump links in {describe_netns(netns)}") as ipr:
            return tuple(_link_info(msg) for msg in ipr.link("dump"))

    def _link(self, name: str, netns: Netns) -> LinkInfo:
        with self._socket(netns, f"get link {name}") as ipr:
            return _link_info(_get_link(ipr, name, netns))

    def _set_link(self, name: str, settings: LinkSettings, netns: Netns) -> None:
        with self._socket(netns, f"set link {name}") as ipr:
            link = _get_link(ipr, name, netns)
            index = link["index"]
            attrs: dict[str, Any] = {}
            if settings.mtu is not None:
                attrs["mtu"] = settings.mtu
            if settings.mac is not None:
                attrs["address"] = settings.mac
            if settings.alias is not None:
                attrs["ifalias"] = settings.alias
            up = settings.up
            if settings.name is not None and settings.name != name:
                attrs["ifname"] = settings.name
                if link["flags"] & _IFF_UP:
                    ipr.link("set", index=index, state="down")  # a name changes only when down
                    up = True if up is None else up
            if up is not None:
                attrs["state"] = "up" if up else "down"
            if attrs:
                ipr.link("set", index=index, **attrs)
        if settings.tx_checksum is not None:
            self._set_tx_checksum(settings.name or name, settings.tx_checksum, netns)

    def _set_tx_checksum(self, name: str, enabled: bool, netns: Netns) -> None:
        # what `ethtool -K <link> tx off` sends; the kernel turns the features that need it
        # (TSO) off with it
        with self._inside(netns), _translating(f"set tx checksum offload of {name}"):
            try:
                _ethtool_value(name, _ETHTOOL_STXCSUM, int(enabled))
            except OSError as error:
                if enabled or error.errno != errno.EOPNOTSUPP:
                    raise
                # a link that cannot offload computes every checksum itself: off already

    def _tx_checksum(self, name: str, netns: Netns) -> bool:
        with self._inside(netns), _translating(f"read tx checksum offload of {name}"):
            try:
                return bool(_ethtool_value(name, _ETHTOOL_GTXCSUM))
            except OSError as error:
                if error.errno != errno.EOPNOTSUPP:
                    raise
                return False

    def _move_link(self, name: str, to: Netns, netns: Netns, new_name: str | None) -> None:
        target_fd = self._home() if to is None else _open_netns(to)
        try:
            with self._socket(netns, f"move link {name} to {describe_netns(to)}") as ipr:
                attrs: dict[str, Any] = {"net_ns_fd": target_fd}
                if new_name is not None:
                    # named in the same request: the old name may be taken in the target
                    attrs["ifname"] = new_name
                ipr.link("set", index=_get_link(ipr, name, netns)["index"], **attrs)
        finally:
            if to is not None:
                os.close(target_fd)

    def _create_veth(self, name: str, peer: str, netns: Netns, peer_netns: Netns) -> None:
        peer_fd = self._home() if peer_netns is None else _open_netns(peer_netns)
        try:
            with self._socket(netns, f"create veth {name}/{peer}") as ipr:
                ipr.link(
                    "add", ifname=name, kind="veth", peer={"ifname": peer, "net_ns_fd": peer_fd}
                )
        finally:
            if peer_netns is not None:
                os.close(peer_fd)

    def _delete_link(self, name: str, netns: Netns) -> None:
        with self._socket(netns, f"delete link {name}") as ipr:
            ipr.link("del", index=_get_link(ipr, name, netns)["index"])

    def _addresses(self, netns: Netns) -> tuple[AddressInfo, ...]:
        with self._socket(netns, f"dump addresses in {describe_netns(netns)}") as ipr:
            return tuple(
                AddressInfo(
                    link_index=int(msg["index"]),
                    address=_canonical_interface(msg.get("address"), msg["prefixlen"]),
                    scope=int(msg["scope"]),
                )
                for msg in ipr.addr("dump")
            )

    def _address(self, command: str, link: str, address: str, netns: Netns) -> None:
        iface = ipaddress.ip_interface(address)
        with self._socket(netns, f"{command} address {address} on {link}") as ipr:
            index = _get_link(ipr, link, netns)["index"]
            ipr.addr(command, index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def _routes(self, netns: Netns, table: int) -> tuple[RouteInfo, ...]:
        with self._socket(netns, f"dump routes in {describe_netns(netns)}") as ipr:
            return tuple(r for r in (_route_info(m) for m in ipr.route("dump")) if r.table == table)

    def _route(self, command: str, route: RouteSpec, netns: Netns) -> None:
        dst = ipaddress.ip_network(route.dst)
        with self._socket(netns, f"{command} route {route.dst} dev {route.link}") as ipr:
            spec: dict[str, Any] = {
                "dst": str(dst.network_address),
                "dst_len": dst.prefixlen,
                "oif": _get_link(ipr, route.link, netns)["index"],
                "scope": int(route.scope),
                "table": route.table,
                "family": socket.AF_INET6 if dst.version == 6 else socket.AF_INET,
            }
            if route.gateway:
                spec["gateway"] = route.gateway
            if route.metric:
                spec["priority"] = route.metric
            ipr.route(command, **spec)

    def _neighbours(self, netns: Netns) -> tuple[NeighbourInfo, ...]:
        with self._socket(netns, f"dump neighbours in {describe_netns(netns)}") as ipr:
            return tuple(
                NeighbourInfo(
                    link_index=int(msg["ifindex"]),
                    ip=str(ipaddress.ip_address(msg.get("dst"))),
                    mac=str(msg.get("lladdr") or "").lower(),
                    state=int(msg["state"]),
                )
                for msg in ipr.neigh("dump")
                if msg.get("dst")
            )

    def _set_neighbour(self, link: str, ip: str, mac: str, netns: Netns) -> None:
        with self._socket(netns, f"set neighbour {ip} on {link}") as ipr:
            index = _get_link(ipr, link, netns)["index"]
            ipr.neigh("replace", dst=ip, lladdr=mac, ifindex=index, state=NUD_PERMANENT)

    def _delete_neighbour(self, link: str, ip: str, netns: Netns) -> None:
        with self._socket(netns, f"delete neighbour {ip} on {link}") as ipr:
            ipr.neigh("del", dst=ip, ifindex=_get_link(ipr, link, netns)["index"])

    def _sysctl(self, name: str, value: str | None, netns: Netns) -> str:
        path = "/proc/sys/" + (name if "/" in name else name.replace(".", "/"))
        operation = f"{'write' if value is not None else 'read'} sysctl {name}"
        # /proc/sys/net answers for the namespace of the thread that opens the file
        with self._inside(netns), _translating(operation):
            if value is None:
                with open(path, encoding="ascii") as f:
                    return f.read().strip()
            with open(path, "w", encoding="ascii") as f:
                f.write(value)
            return value


# --- helpers (worker thread) ---------------------------------------------------------------


def _list_netns() -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(NETNS_RUN_DIR)))
    except FileNotFoundError:
        return ()


def _open_netns(netns: NetnsRef) -> int:
    try:
        return os.open(netns.path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as error:
        raise NetnsNotFoundError(netns.path) from error
    except OSError as error:
        raise netlink_error(f"open {netns.path}", error.errno or errno.EIO) from error


def _ethtool_value(name: str, command: int, data: int = 0) -> int:
    """One ethtool get or set of a value on the link ``name`` of this thread's namespace;
    the value afterwards (OSError as the kernel refuses it)."""
    value = ctypes.create_string_buffer(struct.pack("II", command, data), 8)
    request = struct.pack("16sP", name.encode(), ctypes.addressof(value))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request.ljust(_IFREQ_SIZE, b"\0"))
    return int(struct.unpack("II", value.raw)[1])


@contextlib.contextmanager
def _translating(operation: str) -> Iterator[None]:
    """Turn pyroute2's and the OS's errors into contivpy.linux.errors."""
    try:
        yield
    except LinuxError:
        raise
    except Pyroute2NetlinkError as error:
        raise netlink_error(operation, int(error.code), str(error.args[-1])) from error
    except OSError as error:
        raise netlink_error(operation, error.errno or errno.EIO, error.strerror or "") from error


def _translated(operation: str, fn: Callable[..., Any], *args: Any) -> Any:
    with _translating(operation):
        return fn(*args)


def _get_link(ipr: Any, name: str, netns: Netns) -> Any:
    try:
        return ipr.link("get", ifname=name)[0]
    except Pyroute2NetlinkError as error:
        if error.code in (errno.ENODEV, errno.ENOENT):
            raise LinkNotFoundError(name, describe_netns(netns)) from error
        raise


def _link_info(msg: Any) -> LinkInfo:
    flags = int(msg["flags"])
    return LinkInfo(
        index=int(msg["index"]),
        name=str(msg.get("ifname")),
        kind=str(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or ""),
        alias=str(msg.get("ifalias") or ""),
        mac=str(msg.get("address") or "").lower(),
        mtu=int(msg.get("mtu") or 0),
        admin_up=bool(flags & _IFF_UP),
        operstate=str(msg.get("operstate") or ""),
        loopback=bool(flags & _IFF_LOOPBACK),
    )


def _canonical_interface(ip: Any, prefixlen: Any) -> str:
    return str(ipaddress.ip_interface(f"{ip}/{prefixlen}"))


def _route_info(msg: Any) -> RouteInfo:
    family = int(msg["family"])
    dst = msg.get("dst") or ("::" if family == socket.AF_INET6 else "0.0.0.0")
    return RouteInfo(
        dst=str(ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False)),
        gateway=str(msg.get("gateway") or ""),
        link_index=int(msg.get("oif") or 0),
        scope=int(msg["scope"]),
        metric=int(msg.get("priority") or 0),
        protocol=int(msg["proto"]),
        table=int(msg.get("table") or 0),
    )
