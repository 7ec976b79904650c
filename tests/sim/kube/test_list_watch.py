"""List and watch through kubernetes_asyncio, as the reflector will use them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from contivpy.sim.kube import KubeApiStandIn


def pod(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}], **spec},
    }


async def collect(stream: watch.Watch, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events of a watch stream (fails the test after 5 s)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


async def test_list_carries_the_collection_version(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    await core.create_namespaced_pod("default", pod("b"))
    listed = await core.list_namespaced_pod("default")
    assert listed.metadata.resource_version == str(kube.api.store.resource_version)
    assert [p.metadata.name for p in listed.items] == ["a", "b"]
    first = listed.items[0].metadata
    assert first.uid
    assert first.creation_timestamp
    assert first.generation == 1
    assert first.namespace == "default"
    assert int(first.resource_version) < int(listed.items[1].metadata.resource_version)


async def test_watch_from_list_version_gets_exactly_the_later_events(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    version = (await core.list_namespaced_pod("default")).metadata.resource_version
    await core.create_namespaced_pod("default", pod("b"))
    await core.patch_namespaced_pod("a", "default", {"metadata": {"labels": {"tier": "x"}}})
    await core.delete_namespaced_pod("a", "default")
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(core.list_namespaced_pod, "default", resource_version=version), 3
        )
    seen = [(e["type"], e["object"].metadata.name) for e in events]
    assert seen == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert isinstance(events[0]["object"], client.V1Pod)
    # The client closed its stream: the server notices and forgets the watch.
    await kube.wait_for(lambda: True if kube.api.store.watch_count() == 0 else None)
    assert kube.stats()["watchesClosed"] == {"client gone": 1}
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions)
    assert versions[0] > int(version)
    assert events[1]["object"].metadata.labels["tier"] == "x"


async def test_watch_without_version_starts_with_synthetic_added(
    core: client.CoreV1Api,
) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    async with watch.Watch() as stream:
        events = await collect(stream.stream(core.list_namespaced_pod, "default"), 1)
        await core.create_namespaced_pod("default", pod("b"))
        events += await collect(stream, 1)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]


async def test_bookmarks_arrive_only_when_asked(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    version = (await core.list_namespaced_pod("default")).metadata.resource_version
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(
                core.list_namespaced_pod,
                "default",
                resource_version=version,
                allow_watch_bookmarks=True,
            ),
            2,
        )
        assert stream.resource_version == str(kube.api.store.resource_version)
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    assert events[0]["raw_object"]["metadata"]["resourceVersion"] == version
    async with watch.Watch() as stream:
        quiet = [
            e
            async for e in stream.stream(
                core.list_namespaced_pod, "default", resource_version=version, timeout_seconds=1
            )
        ]
    assert quiet == []


async def test_a_compacted_version_gives_410_to_watch_and_list(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    version = (await core.list_namespaced_pod("default")).metadata.resource_version
    await core.create_namespaced_pod("default", pod("a"))
    kube.compact()
    for extra in ({"timeout_seconds": 5}, {}):  # with a timeout, and watching "forever"
        async with watch.Watch() as stream:
            with pytest.raises(ApiException) as raised:
                await collect(
                    stream.stream(
                        core.list_namespaced_pod, "default", resource_version=version, **extra
                    ),
                    1,
                )
        assert raised.value.status == 410
        assert "Expired" in str(raised.value.reason)
    with pytest.raises(ApiException) as listed:
        await core.list_namespaced_pod(
            "default", resource_version=version, resource_version_match="Exact"
        )
    assert listed.value.status == 410
    with pytest.raises(ApiException) as legacy:
        await core.list_namespaced_pod("default", resource_version=version)
    assert legacy.value.status == 410


async def test_relist_after_410_recovers(kube: KubeApiStandIn, core: client.CoreV1Api) -> None:
    stale = (await core.list_namespaced_pod("default")).metadata.resource_version
    await core.create_namespaced_pod("default", pod("a"))
    kube.compact()
    with pytest.raises(ApiException) as expired:
        await core.list_namespaced_pod("default", resource_version=stale)
    assert expired.value.status == 410
    fresh = await core.list_namespaced_pod("default")  # the reflector's relist
    assert [p.metadata.name for p in fresh.items] == ["a"]
    await core.create_namespaced_pod("default", pod("b"))
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(
                core.list_namespaced_pod,
                "default",
                resource_version=fresh.metadata.resource_version,
            ),
            1,
        )
    assert events[0]["type"] == "ADDED"
    assert events[0]["object"].metadata.name == "b"


async def test_a_dropped_watch_is_resumed_by_the_client_without_loss(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    version = (await core.list_namespaced_pod("default")).metadata.resource_version
    async with watch.Watch() as stream:
        events = stream.stream(core.list_namespaced_pod, "default", resource_version=version)
        await core.create_namespaced_pod("default", pod("a"))
        first = await collect(events, 1)
        assert kube.drop_watches() == 1
        await core.create_namespaced_pod("default", pod("b"))
        second = await collect(events, 1)
    assert [e["object"].metadata.name for e in first + second] == ["a", "b"]
    assert kube.stats()["watchesClosed"]["dropped"] == 1


async def test_field_selector_on_node_name_follows_binding(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    version = (await core.list_pod_for_all_namespaces()).metadata.resource_version
    await core.create_namespaced_pod("default", pod("unbound"))
    await core.create_namespaced_pod("default", pod("elsewhere", nodeName="node-2"))
    await core.create_namespaced_pod("default", pod("here", nodeName="node-1"))
    kube.api.writer.bind("default", "unbound", "node-1")
    await core.delete_namespaced_pod("here", "default")
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(
                core.list_pod_for_all_namespaces,
                resource_version=version,
                field_selector="spec.nodeName=node-1",
            ),
            3,
        )
    seen = [(e["type"], e["object"].metadata.name) for e in events]
    assert seen == [("ADDED", "here"), ("ADDED", "unbound"), ("DELETED", "here")]
    listed = await core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-1")
    assert [p.metadata.name for p in listed.items] == ["unbound"]
    unscheduled = await core.list_pod_for_all_namespaces(field_selector="spec.nodeName=")
    assert unscheduled.items == []
    with pytest.raises(ApiException) as raised:
        await core.list_pod_for_all_namespaces(field_selector="spec.image=x")
    assert raised.value.status == 400


async def test_leaving_a_label_selection_is_a_delete(core: client.CoreV1Api) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    version = (await core.list_namespaced_pod("default")).metadata.resource_version
    await core.patch_namespaced_pod("a", "default", {"metadata": {"labels": {"app": "other"}}})
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(
                core.list_namespaced_pod,
                "default",
                resource_version=version,
                label_selector="app=a",
            ),
            1,
        )
    assert events[0]["type"] == "DELETED"
    assert int(events[0]["object"].metadata.resource_version) > int(version)


async def test_label_selectors_equality_and_sets(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        await core.create_namespaced_pod("default", pod(name))

    async def names(selector: str) -> list[str]:
        listed = await core.list_namespaced_pod("default", label_selector=selector)
        return [p.metadata.name for p in listed.items]

    assert await names("app=a") == ["a"]
    assert await names("app!=a") == ["b", "c"]
    assert await names("app in (a, c)") == ["a", "c"]
    assert await names("app notin (a,c),app") == ["b"]
    assert await names("!app") == []


async def test_namespaced_and_cluster_wide_lists(core: client.CoreV1Api) -> None:
    await core.create_namespace({"metadata": {"name": "other"}})
    await core.create_namespaced_pod("default", pod("a"))
    await core.create_namespaced_pod("other", pod("b", namespace="other"))
    everywhere = await core.list_pod_for_all_namespaces()
    assert [(p.metadata.namespace, p.metadata.name) for p in everywhere.items] == [
        ("default", "a"),
        ("other", "b"),
    ]
    only = await core.list_namespaced_pod("other")
    assert [p.metadata.name for p in only.items] == ["b"]
    async with watch.Watch() as stream:
        events = await collect(stream.stream(core.list_namespaced_pod, "other"), 1)
    assert events[0]["object"].metadata.name == "b"


async def test_paginated_list_is_consistent_at_the_first_page_version(
    core: client.CoreV1Api,
) -> None:
    for name in ("a", "b", "c"):
        await core.create_namespaced_pod("default", pod(name))
    first = await core.list_namespaced_pod("default", limit=2)
    assert [p.metadata.name for p in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 1
    await core.create_namespaced_pod("default", pod("d"))
    await core.delete_namespaced_pod("c", "default")
    rest = await core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["c"]
    assert rest.metadata.resource_version == first.metadata.resource_version
    assert rest.metadata._continue is None


async def test_streaming_list_ends_initial_events_with_a_marked_bookmark(
    core: client.CoreV1Api,
) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(
                core.list_namespaced_pod,
                "default",
                send_initial_events=True,
                resource_version_match="NotOlderThan",
                resource_version="0",
                allow_watch_bookmarks=True,
            ),
            2,
        )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    annotations = events[1]["raw_object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


async def test_a_watch_on_one_object_by_name(core: client.CoreV1Api) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    await core.create_namespaced_pod("default", pod("b"))
    async with watch.Watch() as stream:
        events = await collect(
            stream.stream(core.list_namespaced_pod, "default", field_selector="metadata.name=b"),
            1,
        )
    assert events[0]["object"].metadata.name == "b"
