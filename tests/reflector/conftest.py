"""Fixtures for reflector tests: the Kubernetes stand-in, settings over the session etcd, and
reflectors started and killed (or stopped) by the test (helpers in ``harness``)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from contivpy.reflector import ReflectorSettings
from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn
from contivpy.store.settings import StoreSettings
from reflector.harness import Running, running


@pytest.fixture
async def kube() -> AsyncIterator[KubeApiStandIn]:
    """A stand-in with the contivpp.io CRDs installed and frequent bookmarks."""
    async with KubeApiStandIn(settings=ApiServerSettings(bookmark_interval=0.2)) as standin:
        standin.install_contivpp_crds()
        yield standin


@pytest.fixture
def kubeconfig(kube: KubeApiStandIn, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def reflector_settings(kubeconfig: Path, store_settings: StoreSettings) -> ReflectorSettings:
    """Fast timings: 2 s election TTL, 0.1 s status checks, retries capped at 0.3 s."""
    return ReflectorSettings(
        kubeconfig=kubeconfig,
        store=store_settings,
        identity="r1",
        election_ttl=2,
        status_interval=0.1,
        retry_max=0.3,
        watch_timeout=30,
        missing_kind_retry=0.3,
    )


@pytest.fixture
def run_reflector(
    reflector_settings: ReflectorSettings,
) -> Callable[..., contextlib.AbstractAsyncContextManager[Running]]:
    """``async with run_reflector(identity="x", ...) as r``: settings overridden per call."""

    def start(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Running]:
        return running(dataclasses.replace(reflector_settings, **overrides))

    return start
