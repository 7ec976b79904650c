"""ICMP echo of our own (what ``ping`` does), IPv4 and IPv6, from inside a network namespace.

In: a destination IP address, a namespace (a name made by ``ip netns add``, a path such as
``/proc/<pid>/ns/net``, or None for this process's own), how many echo requests to send, the
interval between them and how long to wait for replies after the last one. Out:
:class:`EchoResult` — requests sent and matching replies received. Needs CAP_NET_RAW (root),
not the ``ping`` binary, which a fresh machine may lack. Also a command:
``python -m contivpy.linux.icmp_echo [--netns NS] [-c N] ADDRESS`` (exit 0 when every request
was answered).

How: a socket belongs to the namespace it was created in, and ``setns`` moves only the calling
thread; so a short-lived thread enters the namespace, creates the raw socket and ends, and no
thread of the caller ever changes namespace. Every raw ICMP socket of a namespace sees every
ICMP packet, including our own requests and other probers' replies: a reply counts only when it
comes from the destination, is an echo reply with our identifier and a sequence number we sent,
and echoes the random token of this probe. A request the kernel refuses to send (no route)
counts as sent and unanswered, as it does for ``ping``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import os
import secrets
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass

from contivpy.linux.netlink_types import NetnsRef

_CLONE_NEWNET = 0x40000000
_ECHO_REQUEST_V4, _ECHO_REPLY_V4 = 8, 0
_ECHO_REQUEST_V6, _ECHO_REPLY_V6 = 128, 129
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_TOKEN_BYTES = 16
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class EchoResult:
    """The outcome of one probe."""

    sent: int
    received: int

    @property
    def ok(self) -> bool:
        """Every request was answered."""
        return self.sent > 0 and self.received == self.sent

    @property
    def summary(self) -> str:
        """One line in ``ping``'s words."""
        loss = 100 * (self.sent - self.received) // self.sent if self.sent else 0
        return f"{self.sent} packets transmitted, {self.received} received, {loss}% packet loss"


def echo(
    address: str,
    count: int = 3,
    *,
    netns: str | None = None,
    interval: float = 0.2,
    timeout: float = 1.0,
    source: str | None = None,
) -> EchoResult:
    """Send ``count`` echo requests to ``address`` from ``netns``, ``interval`` seconds apart,
    and wait up to ``timeout`` seconds after the last for the replies still missing.
    ``source``: the requests' source address (one of the namespace's), else the kernel's
    choice.

    Blocks (run it in a thread from async code). ValueError for a bad address or count;
    OSError when the namespace cannot be entered or the raw socket not created."""
    destination = ipaddress.ip_address(address)
    if count < 1:
        raise ValueError(f"count must be at least 1: {count}")
    sock = _raw_socket(destination.version, netns)
    with sock:
        if source is not None:
            sock.bind((str(ipaddress.ip_address(source)), 0))
        return _probe(sock, destination, count, interval, timeout)


def _raw_socket(version: int, netns: str | None) -> socket.socket:
    """A raw ICMP (or ICMPv6) socket created inside ``netns``."""
    family, protocol = (
        (socket.AF_INET, socket.IPPROTO_ICMP)
        if version == 4
        else (socket.AF_INET6, socket.IPPROTO_ICMPV6)
    )
    if netns is None:
        return socket.socket(family, socket.SOCK_RAW, protocol)
    path = NetnsRef.parse(netns).path
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_open() -> None:
        # This thread ends inside the namespace; it never runs anything else.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"setns into {path}: {os.strerror(code)}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, socket.SOCK_RAW, protocol))
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)

    worker = threading.Thread(target=enter_and_open, name=f"icmp-echo-{netns}", daemon=True)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return made[0]


def _probe(
    sock: socket.socket,
    destination: ipaddress.IPv4Address | ipaddress.IPv6Address,
    count: int,
    interval: float,
    timeout: float,
) -> EchoResult:
    v4 = destination.version == 4
    request_type = _ECHO_REQUEST_V4 if v4 else _ECHO_REQUEST_V6
    identifier = secrets.randbits(16)
    token = secrets.token_bytes(_TOKEN_BYTES)
    target = (str(destination), 0)
    answered: set[int] = set()
    sent = 0
    next_send = time.monotonic()
    deadline = next_send  # set when the last request has gone
    while len(answered) < count:
        now = time.monotonic()
        if sent < count and now >= next_send:
            sent += 1
            next_send += interval
            if sent == count:
                deadline = now + timeout
            # no route, unreachable: sent and unanswered, as for ping
            with contextlib.suppress(OSError):
                sock.sendto(_request(request_type, identifier, sent, token, checksum=v4), target)
            continue
        wake = next_send if sent < count else deadline
        if sent == count and now >= deadline:
            break
        readable, _, _ = select.select([sock], [], [], max(0.0, wake - now))
        if readable:
            seq = _reply_sequence(sock, destination, identifier, token)
            if seq is not None and 1 <= seq <= sent:
                answered.add(seq)
    return EchoResult(sent, len(answered))


def _request(kind: int, identifier: int, seq: int, token: bytes, *, checksum: bool) -> bytes:
    """An echo request; the kernel fills in the checksum of ICMPv6 itself."""
    body = _HEADER.pack(kind, 0, 0, identifier, seq) + token
    if not checksum:
        return body
    return _HEADER.pack(kind, 0, _checksum(body), identifier, seq) + token


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _reply_sequence(
    sock: socket.socket,
    destination: ipaddress.IPv4Address | ipaddress.IPv6Address,
    identifier: int,
    token: bytes,
) -> int | None:
    """The sequence number of the packet waiting on ``sock`` if it is a reply to this probe."""
    try:
        data, source = sock.recvfrom(65535)
    except OSError:
        return None  # an error queued on the socket; the next packet may still be ours
    if _unscoped(source[0]) != _unscoped(str(destination)):
        return None
    if destination.version == 4:
        # a raw IPv4 socket receives the IP header too
        data = data[(data[0] & 0x0F) * 4 :] if data else data
        reply_type = _ECHO_REPLY_V4
    else:
        reply_type = _ECHO_REPLY_V6
    if len(data) < _HEADER.size + len(token):
        return None
    kind, code, _, got_id, seq = _HEADER.unpack_from(data)
    if kind != reply_type or code != 0 or got_id != identifier:
        return None
    if data[_HEADER.size : _HEADER.size + len(token)] != token:
        return None
    return int(seq)


def _unscoped(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address without an IPv6 zone (``fe80::1%eth0``): replies name the zone or not."""
    return ipaddress.ip_address(address.split("%", 1)[0])


def main(argv: list[str] | None = None) -> int:
    """``python -m contivpy.linux.icmp_echo``: 0 when every request was answered, else 1."""
    parser = argparse.ArgumentParser(prog="python -m contivpy.linux.icmp_echo")
    parser.add_argument("address")
    parser.add_argument("--netns", help="namespace name or path (default: this one)")
    parser.add_argument("-c", "--count", type=int, default=3)
    parser.add_argument("-i", "--interval", type=float, default=0.2)
    parser.add_argument("-W", "--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        result = echo(
            args.address,
            args.count,
            netns=args.netns,
            interval=args.interval,
            timeout=args.timeout,
        )
    except (ValueError, OSError) as error:
        print(f"icmp_echo: {error}", file=sys.stderr)
        return 2
    print(result.summary)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
