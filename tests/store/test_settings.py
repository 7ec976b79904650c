"""Store settings: endpoint parsing, gRPC targets, validation, and the hidden password."""

from __future__ import annotations

from pathlib import Path

import pytest

from contivpy.errors import ConfigError
from contivpy.store.settings import Endpoint, StoreSettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:2379", Endpoint("127.0.0.1", 2379)),
        ("etcd.kube-system", Endpoint("etcd.kube-system", 2379)),
        ("http://etcd:12379/", Endpoint("etcd", 12379)),
        ("https://10.0.0.1:2379", Endpoint("10.0.0.1", 2379, secure=True)),
        ("[::1]:2379", Endpoint("::1", 2379)),
        ("::1", Endpoint("::1", 2379)),
    ],
)
def test_endpoint_parse(text: str, expected: Endpoint) -> None:
    assert Endpoint.parse(text) == expected


@pytest.mark.parametrize("text", ["ftp://x:1", "host:0", "host:port", "[::1:2379", ":2379"])
def test_endpoint_parse_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="store endpoint"):
        Endpoint.parse(text)


def test_several_endpoints_may_be_names_or_addresses_of_either_family() -> None:
    # The store keeps one connection per endpoint and fails over between them itself, so a
    # cluster's members may be given by name (a StatefulSet's etcd-0, etcd-1 ...) or mixed.
    names = StoreSettings(endpoints=("etcd-0.etcd:2379", "etcd-1.etcd:2379", "etcd-2.etcd"))
    assert [e.host_port() for e in names.parsed_endpoints()] == [
        "etcd-0.etcd:2379",
        "etcd-1.etcd:2379",
        "etcd-2.etcd:2379",
    ]
    mixed = StoreSettings(endpoints=("10.0.0.1", "::1"))
    assert [e.host_port() for e in mixed.parsed_endpoints()] == ["10.0.0.1:2379", "[::1]:2379"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoints": "127.0.0.1:2379"}, "not one string"),
        ({"endpoints": ("http://10.0.0.1", "https://10.0.0.2")}, "mix"),
        ({"username": "root"}, "together"),
        ({"password": "x"}, "together"),
        ({"cert_file": Path("c.crt")}, "together"),
        ({"dial_timeout": 0}, "positive"),
        ({"failover_timeout": -1}, "positive"),
        ({"list_page_size": 0}, "at least 1"),
    ],
)
def test_invalid_settings_raise_config_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StoreSettings(**options)  # type: ignore[arg-type]


def test_tls_is_on_with_https_or_any_tls_file() -> None:
    assert not StoreSettings(endpoints=("10.0.0.1",)).uses_tls
    assert StoreSettings(endpoints=("https://10.0.0.1",)).uses_tls
    assert StoreSettings(endpoints=("10.0.0.1",), ca_file=Path("ca.crt")).uses_tls


def test_password_is_not_in_repr() -> None:
    settings = StoreSettings(endpoints=("10.0.0.1",), username="root", password="pa55-w0rd")

    assert "pa55-w0rd" not in repr(settings)
    assert "pa55-w0rd" not in str(settings)
    assert "root" in repr(settings)
    assert settings.uses_auth
