"""Leader failover, etcd data loss, etcd restarts, node deletion side effects, malformed
objects: the reflector keeps etcd equal to the cluster through all of them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from contivpy.models.k8s_codec import VppNode, encode
from contivpy.reflector import ELECTION_KEY, STATUS_KEY, ReflectorSettings
from contivpy.sim.kube import KubeApiStandIn
from contivpy.store import DeleteOp, Store, Txn
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from reflector.harness import KSR, Running, converged, eventually, reflected, running

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]

NAMESPACES = "".join(
    f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{i}, labels: {{i: '{i}'}}}}\n"
    for i in range(5)
)


async def leader_of(store: Store) -> bytes | None:
    got = await store.get(KSR + ELECTION_KEY)
    return got.item.value if got.item is not None else None


async def test_a_killed_leader_is_replaced_within_the_ttl(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(NAMESPACES)
    async with run_reflector(identity="a") as a:
        await converged(store, kube)
        assert await leader_of(store) == b"a"
        async with run_reflector(identity="b") as b:
            await eventually(lambda: _true(b.reflector.view.all_listed))
            assert not b.reflector.leading
            await a.kill()  # no lease revocation: b must wait for it to expire
            killed = asyncio.get_running_loop().time()
            # Changes while nobody leads: b's informers see them, b writes them once it leads.
            kube.delete("v1", "Namespace", "ns0")
            kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: after}")
            await eventually(lambda: _true(b.reflector.leading), within=5)
            took = asyncio.get_running_loop().time() - killed
            await converged(store, kube)
            assert await leader_of(store) == b"b"
    assert 1.0 < took < 2 + 1.5  # the lease TTL (2 s), plus detection slack


async def _true(value: bool) -> bool:
    return value


async def test_a_graceful_stop_hands_over_at_once(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector(identity="a") as a, run_reflector(identity="b") as b:
        await converged(store, kube)
        await eventually(lambda: _true(b.reflector.view.all_listed))
        assert await leader_of(store) == b"a"
        await a.stop()
        await eventually(lambda: _true(b.reflector.leading), within=1.0)
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: after}")
        await converged(store, kube)


async def test_a_standby_never_writes(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector(identity="a") as a:
        await converged(store, kube)
        async with run_reflector(identity="b") as b:
            await eventually(lambda: _true(b.reflector.view.all_listed))
            kube.apply_yaml(NAMESPACES)
            await converged(store, kube)
            await asyncio.sleep(0.3)
            assert b.reflector.stats.value("namespace", "adds") == 0
            assert b.reflector.mirror is None
            assert a.reflector.stats.value("namespace", "adds") == 4 + 5


async def test_wiping_the_prefix_re_reflects_everything(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(NAMESPACES)
    async with run_reflector():
        before = await converged(store, kube)
        await store.delete_prefix(KSR)  # the leader key goes too: a new term resyncs
        assert await reflected(store) == {}
        assert await converged(store, kube) == before
        assert await leader_of(store) == b"r1"


async def test_a_status_revision_going_back_is_detected_as_data_loss(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    kube.apply_yaml(NAMESPACES)
    async with run_reflector() as running_one:
        before = await converged(store, kube)
        await eventually(lambda: _exists(store, KSR + STATUS_KEY))
        term = running_one.reflector.election.terms
        # As after a restore from an older backup: the data and the status record went back,
        # the leader key did not.
        await store.txn(
            Txn(success=(DeleteOp(KSR + "k8s/", prefix=True), DeleteOp(KSR + STATUS_KEY)))
        )
        assert await converged(store, kube) == before
        status = running_one.reflector.status
        assert status is not None
        assert status.data_losses == 1
        assert running_one.reflector.election.terms == term  # no re-election was needed


async def _exists(store: Store, key: str) -> bool:
    return (await store.get(key)).item is not None


async def test_etcd_down_and_back_converges(
    kube: KubeApiStandIn,
    private_etcd: EmbeddedEtcd,
    reflector_settings: ReflectorSettings,
) -> None:
    checking = StoreSettings(endpoints=(private_etcd.endpoint,), prefix="/down/")
    # The reflector's requests give up after 0.3 s, so its writes fail while etcd is down
    # (instead of waiting for it).
    settings = dataclasses.replace(
        reflector_settings,
        store=dataclasses.replace(checking, request_timeout=0.3),
        election_ttl=5,
    )
    async with EtcdStore(checking) as store, running(settings) as handle:
        await converged(store, kube)
        await private_etcd.kill()
        kube.apply_yaml(NAMESPACES)
        kube.delete("v1", "Namespace", "kube-public")
        await asyncio.sleep(1.0)  # writes fail meanwhile; a full resync follows
        await private_etcd.start()
        await converged(store, kube, within=10)
        assert handle.reflector.stats.value("namespace", "errors") >= 1


async def test_node_deletion_frees_its_id_and_config(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    for index in (1, 2, 3):
        kube.register_node(f"node-{index}", f"192.168.16.{index}", f"10.1.{index}.0/24")
        await store.put(
            KSR + f"allocatedIDs/{index}", encode(VppNode(id=index, name=f"node-{index}"))
        )
        await store.put(f"/vnf-agent/node-{index}/config/vpp/v2/interfaces/x", b"{}")
    async with run_reflector() as first:
        await converged(store, kube)
        kube.delete("v1", "Node", "node-1")
        await converged(store, kube)
        await eventually(lambda: _missing(store, KSR + "allocatedIDs/1"))
        assert not (await store.list("/vnf-agent/node-1/")).items
        await first.stop()
    kube.delete("v1", "Node", "node-2")  # while no reflector runs: swept at the next start
    async with run_reflector():
        await converged(store, kube)
        await eventually(lambda: _missing(store, KSR + "allocatedIDs/2"))
        assert not (await store.list("/vnf-agent/node-2/")).items
    assert (await store.get(KSR + "allocatedIDs/3")).item is not None
    assert (await store.list("/vnf-agent/node-3/")).items


async def _missing(store: Store, key: str) -> bool:
    return (await store.get(key)).item is None


def _malformed_service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
        "spec": {"ports": [{"port": "http", "targetPort": 80}], "selector": {"app": "x"}},
    }


async def test_malformed_objects_are_reported_and_the_stream_goes_on(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    services = kube.api.resource("v1", "Service")
    networks = kube.api.resource("contivpp.io/v1", "CustomNetwork")
    kube.apply_yaml(
        "apiVersion: contivpp.io/v1\nkind: CustomNetwork\n"
        "metadata: {name: good, namespace: default}\nspec: {type: L2}"
    )
    async with run_reflector() as running_one:
        view = await converged(store, kube)
        good = view["k8s/customnetwork/good/namespace/default"]
        # Written straight into the stand-in's store: its validation would refuse them.
        kube.api.store.put(services.key, _malformed_service("bad"))
        broken = kube.get("contivpp.io/v1", "CustomNetwork", "good", "default")
        broken["spec"]["subnetOneNodePrefixLen"] = "24"
        kube.api.store.put(networks.key, broken)
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: after-bad}")
        view = await eventually(lambda: _with_key(store, "k8s/namespace/after-bad"))
        assert "k8s/service/bad/namespace/default" not in view
        # A valid object that turns malformed keeps its last valid reflection.
        assert view["k8s/customnetwork/good/namespace/default"] == good
        stats = running_one.reflector.stats
        messages = [e.message for e in stats.recent_errors]
        assert (
            "service default/bad: field 'spec.ports[0].port': expected an integer, got 'http'"
            in messages
        )
        assert any(
            "customnetwork default/good: field 'spec.subnetOneNodePrefixLen'" in m for m in messages
        )
        assert stats.value("service", "errors") == 1
        gauges = await eventually(lambda: _errors_published(store))
        assert gauges["service"]["errors"] == 1


async def _with_key(store: Store, key: str) -> dict[str, bytes] | None:
    view = await reflected(store)
    return view if key in view else None


async def _errors_published(store: Store) -> dict[str, Any] | None:
    got = await store.get(KSR + STATUS_KEY)
    if got.item is None:
        return None
    gauges: dict[str, Any] = json.loads(got.item.value)
    return gauges if gauges["service"]["errors"] else None


async def test_a_leader_whose_key_is_taken_stops_writing_until_it_leads_again(
    kube: KubeApiStandIn, store: Store, run_reflector: RunReflector
) -> None:
    async with run_reflector() as handle:
        await converged(store, kube)
        await store.put(KSR + ELECTION_KEY, b"intruder")  # as if another instance won
        await eventually(lambda: _true(not handle.reflector.leading))
        kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: unseen}")
        await asyncio.sleep(0.3)
        assert "k8s/namespace/unseen" not in await reflected(store)  # fenced off
        await store.delete(KSR + ELECTION_KEY)  # the intruder's term ends
        await converged(store, kube)
        assert await leader_of(store) == b"r1"
        assert handle.reflector.election.terms == 2
