"""TLS to etcd, with client certificates, using certificates made by openssl for the test."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from contivpy.errors import ConfigError
from contivpy.store.embedded import EmbeddedEtcd, ServerTls
from contivpy.store.errors import StoreUnavailableError
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
async def tls_etcd(
    tmp_path: Path, pki: Path, etcd_factory: Callable[..., EmbeddedEtcd]
) -> AsyncIterator[EmbeddedEtcd]:
    tls = ServerTls(
        cert_file=pki / "server.crt",
        key_file=pki / "server.key",
        ca_file=pki / "ca.crt",
        client_cert_auth=True,
    )
    async with etcd_factory(tmp_path / "etcd", tls=tls) as etcd:
        yield etcd


@pytest.fixture
def tls_settings(tls_etcd: EmbeddedEtcd, pki: Path) -> StoreSettings:
    return StoreSettings(
        endpoints=(tls_etcd.client_url,),
        ca_file=pki / "ca.crt",
        cert_file=pki / "client.crt",
        key_file=pki / "client.key",
        dial_timeout=1,
    )


async def test_tls_with_client_certificate_works(tls_settings: StoreSettings) -> None:
    assert tls_settings.uses_tls

    async with EtcdStore(tls_settings) as store:
        put = await store.put("k", b"v")
        async with store.watch("", start_revision=put.revision) as events:
            assert (await anext(events)).value == b"v"


async def test_tls_without_client_certificate_is_refused(tls_settings: StoreSettings) -> None:
    no_client_cert = dataclasses.replace(tls_settings, cert_file=None, key_file=None)

    with pytest.raises(StoreUnavailableError):
        await EtcdStore(no_client_cert).connect()


async def test_tls_with_a_foreign_ca_is_refused(tls_settings: StoreSettings, pki: Path) -> None:
    wrong_ca = dataclasses.replace(tls_settings, ca_file=pki / "other-ca.crt")

    with pytest.raises(StoreUnavailableError):
        await EtcdStore(wrong_ca).connect()


async def test_plain_connection_to_a_tls_etcd_is_refused(tls_etcd: EmbeddedEtcd) -> None:
    plain = StoreSettings(endpoints=(tls_etcd.endpoint,), dial_timeout=1)

    with pytest.raises(StoreUnavailableError):
        await EtcdStore(plain).connect()


async def test_unreadable_tls_file_is_a_config_error(tls_settings: StoreSettings) -> None:
    missing = dataclasses.replace(tls_settings, ca_file=Path("/nonexistent/ca.crt"))

    with pytest.raises(ConfigError, match="ca_file"):
        await EtcdStore(missing).connect()
