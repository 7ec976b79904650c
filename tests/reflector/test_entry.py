"""The entry points (``run_reflector``, ``run_reflector_command``) and the API client."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from contivpy.errors import ConfigError
from contivpy.reflector import ELECTION_KEY, ReflectorSettings, run_reflector, run_reflector_command
from contivpy.reflector.command import parse_endpoints
from contivpy.reflector.errors import ResourceExpiredError, ResourceNotServedError
from contivpy.reflector.watching import KubeApi
from contivpy.sim.kube import KubeApiStandIn
from contivpy.store import Store
from reflector.harness import KSR, converged


async def test_run_reflector_until_stopped_then_hands_over(
    kube: KubeApiStandIn, store: Store, reflector_settings: ReflectorSettings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_reflector(reflector_settings, stop=stop))
    try:
        await converged(store, kube)
        assert (await store.get(KSR + ELECTION_KEY)).item is not None
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    # The lease was revoked: the leader key is gone at once, not after the TTL.
    assert (await store.get(KSR + ELECTION_KEY)).item is None


async def test_a_watch_event_larger_than_64_kib_is_read(
    kube: KubeApiStandIn, store: Store, reflector_settings: ReflectorSettings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_reflector(reflector_settings, stop=stop))
    try:
        await converged(store, kube)
        big = "x" * 200_000  # not reflected, but it makes the event line long
        kube.apply_yaml(
            "apiVersion: v1\nkind: Namespace\n"
            f"metadata: {{name: big, annotations: {{note: {big}, contivpp.io/x: y}}}}"
        )
        view = await converged(store, kube)
        assert "k8s/namespace/big" in view
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_api_errors_are_translated(kube: KubeApiStandIn, kubeconfig: Path) -> None:
    async with KubeApi.connect(kubeconfig) as api:
        listed = await api.list_objects("/api/v1/namespaces")
        assert {o["metadata"]["name"] for o in listed.items} >= {"default", "kube-system"}
        with pytest.raises(ResourceNotServedError):
            await api.list_objects("/apis/example.com/v1/widgets")
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}")
        kube.compact()
        events = api.watch_objects("/api/v1/namespaces", listed.resource_version)
        async with contextlib.aclosing(events):
            with pytest.raises(ResourceExpiredError):
                await anext(events)


async def test_pages_are_joined(kube: KubeApiStandIn, kubeconfig: Path) -> None:
    kube.apply_yaml(
        "".join(
            f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: n{i}}}\n" for i in range(7)
        )
    )
    async with KubeApi.connect(kubeconfig) as connected:
        api = KubeApi(connected._api, page_size=3)
        listed = await api.list_objects("/api/v1/namespaces")
    assert len(listed.items) == 4 + 7
    assert int(listed.resource_version) >= 11


async def test_a_bad_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="kubeconfig"):
        async with KubeApi.connect(missing):
            pass


def test_the_command_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_reflector_command(kubeconfig=Path("k"), prefix="no-slash") == 2
    assert "must end with '/'" in capsys.readouterr().err
    assert run_reflector_command(kubeconfig=Path("k"), etcd="a:1,https://b:2") == 2  # mixed
    assert parse_endpoints("127.0.0.1:2379, 127.0.0.2:2379") == ("127.0.0.1:2379", "127.0.0.2:2379")
    assert parse_endpoints(None) == ()


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="kinds"):
        ReflectorSettings(kinds=("pods",))
    with pytest.raises(ConfigError, match="election_ttl"):
        ReflectorSettings(election_ttl=0)
    with pytest.raises(ConfigError, match="retry_initial"):
        ReflectorSettings(retry_initial=2.0, retry_max=1.0)
