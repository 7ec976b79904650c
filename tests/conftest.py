"""Session-wide test configuration: every asyncio test runs on uvloop, as the services do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop

# Real etcd fixtures (etcd_server, store, private_etcd, ...) and test certificates (pki)
# for every test tier.
pytest_plugins = ["fixtures.etcd", "fixtures.pki"]


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """pytest-asyncio 1.5 hook: run async tests on uvloop (the supported replacement of the
    deprecated event_loop_policy fixture)."""
    return {"uvloop": uvloop.new_event_loop}
