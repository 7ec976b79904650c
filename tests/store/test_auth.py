"""etcd with authentication: tokens renewed after a restart, permissions, and credentials that
never show in reprs, errors, tracebacks (even with frame locals) or logs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import traceback
from pathlib import Path

import pytest
import structlog

from contivpy.errors import ConfigError
from contivpy.store.embedded import EmbeddedEtcd, etcdctl_binary
from contivpy.store.errors import StoreAuthError
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings

# Module constants, not locals: a test frame's locals would show them in rendered tracebacks.
ROOT_PASSWORD = "root-Secret-4711"
LIMITED_PASSWORD = "limited-Secret-0815"
WRONG_PASSWORD = "wrong-Secret-1234"
SECRETS = (ROOT_PASSWORD, LIMITED_PASSWORD, WRONG_PASSWORD)


def etcdctl(etcd: EmbeddedEtcd, *args: str) -> None:
    subprocess.run(
        [str(etcdctl_binary()), f"--endpoints={etcd.client_url}", *args],
        check=True,
        capture_output=True,
        timeout=20,
    )


@pytest.fixture
async def auth_etcd(private_etcd: EmbeddedEtcd) -> EmbeddedEtcd:
    """etcd with auth on: ``root``, and ``limited`` who may use only keys under /ns/a/."""
    etcdctl(private_etcd, "user", "add", f"root:{ROOT_PASSWORD}")
    etcdctl(private_etcd, "user", "add", f"limited:{LIMITED_PASSWORD}")
    etcdctl(private_etcd, "role", "add", "a-only")
    etcdctl(private_etcd, "role", "grant-permission", "a-only", "readwrite", "/ns/a/", "--prefix")
    etcdctl(private_etcd, "user", "grant-role", "limited", "a-only")
    etcdctl(private_etcd, "auth", "enable")
    return private_etcd


def settings_for(etcd: EmbeddedEtcd, user: str, password: str, prefix: str = "") -> StoreSettings:
    return StoreSettings(
        endpoints=(etcd.endpoint,),
        prefix=prefix,
        username=user,
        password=password,
        dial_timeout=3,
    )


async def test_authenticated_store_works_and_survives_restart(auth_etcd: EmbeddedEtcd) -> None:
    async with EtcdStore(settings_for(auth_etcd, "root", ROOT_PASSWORD, "/app/")) as store:
        put = await store.put("k", b"1")
        async with store.watch("", start_revision=put.revision) as events:
            async with asyncio.timeout(5):
                assert (await anext(events)).value == b"1"

            # etcd forgets its auth tokens when it restarts: requests and the watch must
            # authenticate again by themselves.
            await auth_etcd.restart()
            second = await store.put("k", b"2")
            async with asyncio.timeout(10):
                event = await anext(events)

        assert (event.value, event.mod_revision) == (b"2", second.revision)
        assert (await store.get("k")).item.value == b"2"  # type: ignore[union-attr]


async def test_wrong_password_is_an_auth_error(auth_etcd: EmbeddedEtcd) -> None:
    with pytest.raises(StoreAuthError):
        await EtcdStore(settings_for(auth_etcd, "root", WRONG_PASSWORD)).connect()


async def test_no_credentials_on_an_auth_etcd_is_an_auth_error(auth_etcd: EmbeddedEtcd) -> None:
    async with EtcdStore(StoreSettings(endpoints=(auth_etcd.endpoint,))) as anonymous:
        with pytest.raises(StoreAuthError):
            await anonymous.get("k")


async def test_permission_denied_on_reads_writes_and_watches(auth_etcd: EmbeddedEtcd) -> None:
    async with EtcdStore(settings_for(auth_etcd, "limited", LIMITED_PASSWORD, "/ns/")) as store:
        await store.put("a/allowed", b"v")
        async with store.watch("a/") as events:
            put = await store.put("a/allowed", b"w")
            async with asyncio.timeout(5):
                assert (await anext(events)).mod_revision == put.revision

        with pytest.raises(StoreAuthError):
            await store.put("b/denied", b"v")
        with pytest.raises(StoreAuthError):
            await store.get("b/denied")
        # aetcd would wait forever on a watch etcd refuses; the store says no at once.
        with pytest.raises(StoreAuthError):
            async with asyncio.timeout(5), store.watch("b/") as denied:
                await anext(denied)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_credentials_never_appear_in_reprs_errors_tracebacks_or_logs(
    auth_etcd: EmbeddedEtcd,
) -> None:
    good = settings_for(auth_etcd, "root", ROOT_PASSWORD)
    bad = dataclasses.replace(good, password=WRONG_PASSWORD)
    assert_no_secret(repr(good) + str(good) + repr(EtcdStore(good)) + repr(bad))

    with structlog.testing.capture_logs() as logs:
        async with EtcdStore(good) as store:
            await store.put("k", b"v")
            await auth_etcd.restart()  # forces a re-authentication
            await store.get("k")
        with pytest.raises(StoreAuthError) as raised:
            await EtcdStore(bad).connect()

    error = raised.value
    assert_no_secret(str(error) + repr(error) + repr(error.__cause__))
    assert_no_secret("".join(traceback.format_exception(error)))
    transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=True)
    rendered = transformer((type(error), error, error.__traceback__))
    assert_no_secret(json.dumps(rendered, default=repr))
    assert any(entry["event"] == "store auth token expired, authenticating again" for entry in logs)
    assert_no_secret(repr(logs))


async def test_password_from_a_file_is_reread_and_from_the_environment(
    auth_etcd: EmbeddedEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "etcd-password"
    secret.write_text(WRONG_PASSWORD + "\n")
    from_file = StoreSettings(
        endpoints=(auth_etcd.endpoint,), username="root", password_file=secret, dial_timeout=3
    )
    with pytest.raises(StoreAuthError):
        await EtcdStore(from_file).connect()
    secret.write_text(ROOT_PASSWORD + "\n")  # the mounted secret was corrected
    async with EtcdStore(from_file) as store:
        await store.put("k", b"from file")

    monkeypatch.setenv("CONTIVPY_TEST_ETCD_PASSWORD", ROOT_PASSWORD)
    from_env = dataclasses.replace(
        from_file, password_file=None, password_env="CONTIVPY_TEST_ETCD_PASSWORD"
    )
    assert ROOT_PASSWORD not in repr(from_env)
    async with EtcdStore(from_env) as store:
        assert (await store.get("k")).item.value == b"from file"  # type: ignore[union-attr]


def test_unreadable_password_sources_are_config_errors(tmp_path: Path) -> None:
    missing = StoreSettings(username="u", password_file=tmp_path / "none")
    with pytest.raises(ConfigError, match=r"password_file .*none"):
        missing.resolve_password()
    unset = StoreSettings(username="u", password_env="CONTIVPY_TEST_UNSET_VARIABLE")
    with pytest.raises(ConfigError, match="CONTIVPY_TEST_UNSET_VARIABLE is not set"):
        unset.resolve_password()
    with pytest.raises(ConfigError, match="together"):
        StoreSettings(username="u", password="x", password_env="V")
