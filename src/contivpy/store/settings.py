"""Settings of the store: where etcd is, how to authenticate, which key prefix to use.

In: plain values (from the command line, a file or the environment — the composition root
decides). Out: a validated, frozen ``StoreSettings``; ``ConfigError`` names the bad setting.
Endpoints are parsed here into ``Endpoint`` values and one gRPC target, so the adapter never
sees a malformed address. The password is excluded from ``repr`` (and so from logs and
tracebacks that show the settings).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from contivpy.errors import ConfigError

DEFAULT_PORT = 2379


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One etcd client address. ``secure`` when it was given as ``https://``."""

    host: str
    port: int
    secure: bool = False

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``host[:port]``, ``http://host[:port]``, ``https://host[:port]`` or a
        bracketed IPv6 ``[addr]:port``."""
        rest = text.strip()
        secure = False
        if "://" in rest:
            scheme, rest = rest.split("://", 1)
            if scheme not in ("http", "https"):
                raise ConfigError(f"store endpoint {text!r}: scheme must be http or https")
            secure = scheme == "https"
        rest = rest.rstrip("/")
        host, port = _split_host_port(rest, text)
        if not host:
            raise ConfigError(f"store endpoint {text!r}: no host")
        return cls(host, port, secure)

    @property
    def ip_version(self) -> int | None:
        """4 or 6 when the host is an IP literal, None for a DNS name."""
        try:
            return ipaddress.ip_address(self.host).version
        except ValueError:
            return None

    def host_port(self) -> str:
        """``host:port`` with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if self.ip_version == 6 else self.host
        return f"{host}:{self.port}"


def _split_host_port(rest: str, text: str) -> tuple[str, int]:
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        if not sep:
            raise ConfigError(f"store endpoint {text!r}: unclosed '['")
        port_text = tail.removeprefix(":") if tail else ""
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    else:
        host, port_text = rest, ""  # a bare name or a bare IPv6 address
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"store endpoint {text!r}: bad port {port_text!r}")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """How to reach etcd.

    - ``endpoints``: etcd client addresses. Empty means "no external etcd": the composition
      root starts an embedded one (``contivpy.store.embedded``). Several endpoints must be IP
      literals of one family (gRPC then fails over between them); for DNS names give one name
      that resolves to every member.
    - ``prefix``: prepended to every key this store reads or writes (and stripped from keys it
      returns), so several clusters or test runs can share one etcd.
    - ``ca_file`` / ``cert_file`` / ``key_file``: TLS. Any of them, or an ``https://``
      endpoint, turns TLS on; ``ca_file`` unset means the system's trust roots;
      ``cert_file`` + ``key_file`` present a client certificate.
    - ``username`` / ``password``: etcd authentication (both or neither).
    - ``dial_timeout``: seconds to wait for etcd when connecting.
    - ``request_timeout``: seconds one request may take, including waiting for a reconnect.
    - ``list_page_size``: keys per range request when listing (all pages read at one revision).
    """

    endpoints: tuple[str, ...] = ()
    prefix: str = ""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    dial_timeout: float = 5.0
    request_timeout: float = 5.0
    list_page_size: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.endpoints, str):  # a lone string would iterate per character
            raise ConfigError("store endpoints must be a sequence of addresses, not one string")
        parsed = self.parsed_endpoints()
        if len({e.secure for e in parsed}) > 1:
            raise ConfigError("store endpoints mix http:// and https://")
        if len(parsed) > 1 and (
            None in {e.ip_version for e in parsed} or len({e.ip_version for e in parsed}) > 1
        ):
            raise ConfigError(
                "several store endpoints must all be IPv4 or all IPv6 literals; "
                "for DNS names give one name that resolves to every member"
            )
        if (self.username is None) != (self.password is None):
            raise ConfigError("store username and password must be given together")
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("store cert_file and key_file must be given together")
        if self.dial_timeout <= 0 or self.request_timeout <= 0:
            raise ConfigError("store dial_timeout and request_timeout must be positive")
        if self.list_page_size < 1:
            raise ConfigError("store list_page_size must be at least 1")

    def parsed_endpoints(self) -> tuple[Endpoint, ...]:
        """The endpoints as ``Endpoint`` values (``ConfigError`` when one is malformed)."""
        return tuple(Endpoint.parse(text) for text in self.endpoints)

    @property
    def uses_tls(self) -> bool:
        """Whether connections are TLS."""
        return (
            any(e.secure for e in self.parsed_endpoints())
            or self.ca_file is not None
            or self.cert_file is not None
        )

    @property
    def uses_auth(self) -> bool:
        """Whether a username and password are configured."""
        return self.username is not None

    def grpc_target(self) -> str:
        """One gRPC target for all endpoints: ``host:port`` for one, ``ipv4:a:p,b:q`` (or
        ``ipv6:``) for several, which gRPC's pick-first policy fails over between."""
        parsed = self.parsed_endpoints()
        if not parsed:
            raise ConfigError("no store endpoints configured")
        if len(parsed) == 1:
            return parsed[0].host_port()
        family = f"ipv{parsed[0].ip_version}"
        return family + ":" + ",".join(e.host_port() for e in parsed)
