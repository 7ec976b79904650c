"""Session-wide test configuration: every asyncio test runs on uvloop, as the services do;
against a real VPP (``make test-vpp``) a test without its own timeout gets a longer one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop

from vpp_target.target import running_on_real_vpp

# Real etcd fixtures (etcd_server, store, private_etcd, ...), test certificates (pki), the
# Linux sandbox and netlink client, node agents in-process (make_node), and the test's VPP
# (target, sim, vpp) for every test tier.
pytest_plugins = [
    "fixtures.etcd",
    "fixtures.pki",
    "fixtures.netns",
    "fixtures.agent_nodes",
    "vpp_target.fixtures",
]


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """pytest-asyncio 1.5 hook: run async tests on uvloop (the supported replacement of the
    deprecated event_loop_policy fixture)."""
    return {"uvloop": uvloop.new_event_loop}


# pyproject's default per-test timeout fits the simulator. A real VPP answers slower and
# each test first makes it clean: the contract and descriptor suites took 16 minutes for 97
# tests on a loaded machine, within this limit (the former default). The descriptors'
# end-to-end properties (40 examples each, one with a real VPP restart per example) took
# 96-122 s on an idle machine once the NAT44 and ACL descriptors read their state at every
# resync, so the limit leaves room for a loaded one.
REAL_VPP_TIMEOUT = 300


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not running_on_real_vpp():
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(REAL_VPP_TIMEOUT))
