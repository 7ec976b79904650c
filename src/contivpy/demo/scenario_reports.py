"""What each demo scenario shows beyond the pods, by scenario name.

In: a scenario name (``demo/scenario_list.py``). Out: the coroutine function that reports it
on a running DemoCluster (``demo/scenarios.py``, ``demo/services_scenario.py``); ``pods``
shows nothing more and has none.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from contivpy.demo.cluster import DemoCluster
from contivpy.demo.report import DemoPod
from contivpy.demo.scenarios import (
    ScenarioReport,
    custom_network,
    multi_if,
    sfc_external,
    sfc_linux,
    sfc_vpp,
)
from contivpy.demo.services_scenario import services

SCENARIO_REPORTS: dict[
    str, Callable[[DemoCluster, list[DemoPod]], Coroutine[Any, Any, ScenarioReport]]
] = {
    "multi-if": multi_if,
    "sfc-linux": lambda cluster, _: sfc_linux(cluster),
    "sfc-vpp": lambda cluster, _: sfc_vpp(cluster),
    "sfc-external": lambda cluster, _: sfc_external(cluster),
    "custom-network": custom_network,
    "services": services,
}
