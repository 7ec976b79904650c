"""CustomConfiguration end to end: the stand-in API server -> reflector -> vpp-agent keys in the
session etcd, with the object's status and Events written back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from contivpy.models.k8s_codec import ConfigItem, CustomConfiguration
from contivpy.reflector.custom_config import load_yaml, render
from contivpy.sim.kube import KubeApiStandIn
from contivpy.store import Store
from reflector.harness import Running, eventually

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]

CNF2 = "/vnf-agent/vpp-cnf2/config/"

# Seed 000's xconnect-vpp.yaml, as Contiv-VPP's example has it (no name, no version).
XCONNECT_VPP = """
apiVersion: contivpp.io/v1
kind: CustomConfiguration
metadata: {name: example-interconnect, namespace: default}
spec:
  microservice: vpp-cnf2
  configItems:
    - module: vpp.l2
      type: xconnect
      data: |-
        receiveInterface: memif1
        transmitInterface: memif2
    - module: vpp.l2
      type: xconnect
      data: |-
        receiveInterface: memif2
        transmitInterface: memif1
"""

MIXED = """
apiVersion: contivpp.io/v1
kind: CustomConfiguration
metadata: {name: mixed, namespace: default}
spec:
  microservice: vpp-cnf1
  configItems:
    - module: vpp
      type: interfaces
      name: memif1
      data: |
        type: MEMIF
        enabled: true
        ip_addresses: [10.1.1.4/24]
        memif: {id: 1, socket_filename: /run/vpp/memif.sock}
    - module: vpp.nat
      type: dnat44
      name: x
      data: "label: x"
    - module: vpp
      type: arp
      data: "interface: memif1\\nip_address: [unclosed"
    - module: vpp.l2
      type: xconnect
      data: "transmit_interface: memif1"
    - {module: vpp, type: arp, microservice: other,
       data: "{interface: memif1, ip_address: 10.1.1.1, phys_address: '00:00:00:00:00:02'}"}
"""


async def etcd_values(store: Store, prefix: str) -> dict[str, Any]:
    listing = await store.list(prefix)
    return {item.key[len(prefix) :]: json.loads(item.value) for item in listing.items}


def ready(kube: KubeApiStandIn, name: str) -> dict[str, Any] | None:
    obj = kube.get("contivpp.io/v1", "CustomConfiguration", name, namespace="default")
    conditions = (obj.get("status") or {}).get("conditions") or []
    found = [c for c in conditions if c.get("type") == "Ready"]
    return found[0] if found else None


def events_about(kube: KubeApiStandIn, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in kube.list("v1", "Event", namespace="default")
        if e["involvedObject"]["kind"] == "CustomConfiguration"
        and e["involvedObject"]["name"] == name
    ]


async def test_the_seed_xconnect_lands_under_the_cnfs_label(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(XCONNECT_VPP)
    async with run_reflector():

        async def written() -> dict[str, Any] | None:
            values = await etcd_values(store, CNF2)
            return values if len(values) == 2 else None

        values = await eventually(written)
        assert values == {
            "vpp/l2/v2/xconnect/memif1": {
                "receive_interface": "memif1",
                "transmit_interface": "memif2",
            },
            "vpp/l2/v2/xconnect/memif2": {
                "receive_interface": "memif2",
                "transmit_interface": "memif1",
            },
        }
        condition = await eventually(lambda: _async(ready(kube, "example-interconnect")), within=5)
        assert condition["status"] == "True"
        assert events_about(kube, "example-interconnect") == []


async def test_bad_items_are_reported_and_the_good_ones_still_written(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(MIXED)
    kube.apply_yaml(XCONNECT_VPP)
    async with run_reflector():
        condition = await eventually(lambda: _async(ready(kube, "mixed")))
        interfaces = await etcd_values(store, "/vnf-agent/vpp-cnf1/config/vpp/v2/interfaces/")
        assert interfaces["memif1"]["memif"]["id"] == 1
        other = await etcd_values(store, "/vnf-agent/other/config/")
        assert other == {
            "vpp/v2/arp/memif1/10.1.1.1": {
                "interface": "memif1",
                "ip_address": "10.1.1.1",
                "phys_address": "00:00:00:00:00:02",  # a string, not YAML 1.1's base 60
            }
        }
        assert condition["status"] == "False"
        message = condition["message"]
        assert "configItems[1]: unknown model 'vpp.nat (any version) dnat44'" in message
        assert "configItems[2].data: not YAML" in message
        assert "configItems[3].data: field 'receive_interface': required" in message
        (event,) = await eventually(lambda: _async(events_about(kube, "mixed") or None))
        assert event["type"] == "Warning"
        assert "configItems[1]" in event["message"]
        # the other object is not disturbed
        assert len(await etcd_values(store, CNF2)) == 2
        assert (await eventually(lambda: _async(ready(kube, "example-interconnect"))))[
            "status"
        ] == "True"


async def test_removal_deletes_only_the_keys_the_object_wrote(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    agents = CNF2 + "vpp/v2/interfaces/memif1"
    await store.put(agents, b'{"name":"memif1","type":"MEMIF"}')  # the node agent's value
    kube.apply_yaml(XCONNECT_VPP)
    async with run_reflector():
        await eventually(lambda: _count(store, CNF2 + "vpp/l2/", 2))
        # someone else takes one of our keys over: it is theirs now
        taken = CNF2 + "vpp/l2/v2/xconnect/memif2"
        await store.put(taken, b'{"receive_interface":"memif2","transmit_interface":"x"}')
        kube.delete("contivpp.io/v1", "CustomConfiguration", "example-interconnect", "default")
        await eventually(lambda: _count(store, CNF2 + "vpp/l2/v2/xconnect/memif1", 0))
        # the record goes last in the pass that removes the object's keys
        await eventually(lambda: _count(store, "/vnf-agent/contiv-ksr/customconfig/", 0))
        left = await etcd_values(store, CNF2)
        assert set(left) == {"vpp/v2/interfaces/memif1", "vpp/l2/v2/xconnect/memif2"}
        assert left["vpp/l2/v2/xconnect/memif2"]["transmit_interface"] == "x"


async def test_a_restart_rewrites_nothing_and_reports_nothing_new(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(MIXED)
    kube.apply_yaml(XCONNECT_VPP)
    async with run_reflector() as first:
        await eventually(lambda: _async(ready(kube, "mixed")))
        await eventually(lambda: _async(ready(kube, "example-interconnect")))
        await first.stop()
    before = {i.key: i.mod_revision for i in (await store.list("/vnf-agent/")).items}
    names = ("mixed", "example-interconnect")
    # whole objects: a status rewrite would move their resourceVersion
    objects = [kube.get("contivpp.io/v1", "CustomConfiguration", n, "default") for n in names]
    events = len(kube.list("v1", "Event", namespace="default"))
    async with run_reflector(identity="r2") as second:
        writer = await eventually(lambda: _async(second.reflector.custom_config))
        await eventually(lambda: _async(writer.passes >= 1 or None))
    after = {i.key: i.mod_revision for i in (await store.list("/vnf-agent/")).items}
    assert {k: r for k, r in after.items() if "/election/" not in k and "/status/" not in k} == {
        k: r for k, r in before.items() if "/election/" not in k and "/status/" not in k
    }
    assert [kube.get("contivpp.io/v1", "CustomConfiguration", n, "default") for n in names] == (
        objects
    )
    assert len(kube.list("v1", "Event", namespace="default")) == events


def test_items_render_to_keys_and_name_disagreements_are_refused() -> None:
    config = CustomConfiguration(
        name="c",
        namespace="default",
        microservice="cnf",
        config_items=[
            ConfigItem(module="vpp.l2", type="xconnect", name="a", data="transmit_interface: b"),
            ConfigItem(module="vpp.l2", type="xconnect", name="z", data="receive_interface: a"),
            ConfigItem(module="vpp", type="interfaces", version="v2", data="name: x"),
            ConfigItem(module="vpp.l2", type="xconnect", data="receive_interface: a"),
            ConfigItem(module="vpp", type="arp", microservice="contiv-ksr", data="{}"),
        ],
    )
    rendered = render(config, agent_prefix="/vnf-agent/", reserved=("contiv-ksr",))
    assert list(rendered.values) == ["/vnf-agent/cnf/config/vpp/l2/v2/xconnect/a"]
    assert rendered.problems == [
        "configItems[1].name: 'z' does not match the value's 'a'",
        "configItems[2].data: field 'type': required (one of SUB_INTERFACE, SOFTWARE_LOOPBACK,"
        " DPDK, MEMIF, TAP, AF_PACKET, VXLAN_TUNNEL)",
        "configItems[3]: configures /vnf-agent/cnf/config/vpp/l2/v2/xconnect/a as"
        " configItems[0] does",
        "configItems[4].microservice: 'contiv-ksr' is reserved",
    ]
    assert load_yaml("mac: 00:00:00:00:00:02") == {"mac": "00:00:00:00:00:02"}


async def _async(value: Any) -> Any:
    return value


async def _count(store: Store, prefix: str, count: int) -> bool:
    return len((await store.list(prefix)).items) == count


async def test_items_for_a_nodes_vswitch_are_left_to_its_agent(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.register_node("node-1", "192.168.16.1")
    kube.apply_yaml(XCONNECT_VPP.replace("microservice: vpp-cnf2", "microservice: node-1"))
    kube.apply_yaml(MIXED)
    async with run_reflector():
        condition = await eventually(lambda: _async(ready(kube, "example-interconnect")))
        await eventually(lambda: _async(ready(kube, "mixed")))
        assert condition["status"] == "True"
        assert await etcd_values(store, "/vnf-agent/node-1/") == {}
