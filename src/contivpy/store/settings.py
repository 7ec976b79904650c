"""Settings of the store: where etcd is, how to authenticate, which key prefix to use.

In: plain values (from the command line, a file or the environment — the composition root
decides). Out: a validated, frozen ``StoreSettings``; ``ConfigError`` names the bad setting.
Endpoints are parsed here into ``Endpoint`` values, so the adapter never sees a malformed
address. The password is excluded from ``repr`` (and so from logs and
tracebacks that show the settings).
"""

from __future__ import annotations

import ipaddress
import os
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
      root starts an embedded one (``contivpy.store.embedded``). Several endpoints: the
      members of one etcd cluster (names or IP literals); the store uses one at a time and
      fails over to the next when it becomes unreachable.
    - ``prefix``: prepended to every key this store reads or writes (and stripped from keys it
      returns), so several clusters or test runs can share one etcd.
    - ``ca_file`` / ``cert_file`` / ``key_file``: TLS. Any of them, or an ``https://``
      endpoint, turns TLS on; ``ca_file`` unset means the system's trust roots;
      ``cert_file`` + ``key_file`` present a client certificate.
    - ``username`` with one password source: etcd authentication. The password is given
      inline (``password``), read from a file (``password_file``: its first line, e.g. a
      mounted Kubernetes secret; re-read at every authentication, so a rotated secret is
      picked up) or from an environment variable (``password_env`` names it).
    - ``dial_timeout``: seconds to wait for etcd when connecting.
    - ``request_timeout``: seconds one request may take, including waiting for a reconnect
      and failing over.
    - ``failover_timeout``: with several endpoints, seconds to wait for one that is still
      connecting before trying the next (one that refused the connection is skipped at once).
    - ``list_page_size``: keys per range request when listing (all pages read at one revision).
    """

    endpoints: tuple[str, ...] = ()
    prefix: str = ""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    password_env: str | None = None
    dial_timeout: float = 5.0
    request_timeout: float = 5.0
    failover_timeout: float = 2.0
    list_page_size: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.endpoints, str):  # a lone string would iterate per character
            raise ConfigError("store endpoints must be a sequence of addresses, not one string")
        parsed = self.parsed_endpoints()
        if len({e.secure for e in parsed}) > 1:
            raise ConfigError("store endpoints mix http:// and https://")
        sources = [
            s for s in (self.password, self.password_file, self.password_env) if s is not None
        ]
        if (self.username is None) != (not sources) or len(sources) > 1:
            raise ConfigError(
                "store username and a password (one of password, password_file, "
                "password_env) must be given together"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("store cert_file and key_file must be given together")
        if self.dial_timeout <= 0 or self.request_timeout <= 0 or self.failover_timeout <= 0:
            raise ConfigError(
                "store dial_timeout, request_timeout and failover_timeout must be positive"
            )
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

    def resolve_password(self) -> str | None:
        """The password from whichever source is configured (None without auth).
        ``ConfigError`` names the file or variable when it cannot be read — never the value."""
        if self.password_file is not None:
            try:
                text = self.password_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
                raise ConfigError(
                    f"store password_file {str(self.password_file)!r}: {reason}"
                ) from None
            lines = text.splitlines()
            if not lines or not lines[0]:
                raise ConfigError(f"store password_file {str(self.password_file)!r} is empty")
            return lines[0]
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if not value:
                raise ConfigError(
                    f"store password_env: environment variable {self.password_env} is not set"
                )
            return value
        return self.password
