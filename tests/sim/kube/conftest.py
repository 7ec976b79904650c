"""Fixtures: a running stand-in per test and a kubernetes_asyncio client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio import client

from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn

# Short bookmark interval so bookmark tests take a fraction of a second.
FAST = ApiServerSettings(bookmark_interval=0.1)


@pytest.fixture
async def kube() -> AsyncIterator[KubeApiStandIn]:
    async with KubeApiStandIn(settings=FAST) as standin:
        yield standin


@pytest.fixture
async def api_client(kube: KubeApiStandIn) -> AsyncIterator[client.ApiClient]:
    async with client.ApiClient(client.Configuration(host=kube.url)) as api:
        yield api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)
