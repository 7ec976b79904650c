"""Refused Services end to end: the stand-in API server -> the reflector's leader -> Warning
Events on the Services, read back from the stand-in as ``kubectl get events`` lists them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    Service,
    ServicePort,
    SliceEndpoint,
)
from contivpy.reflector.refusal_events import RefusalEvents, Subject
from contivpy.reflector.service_events import problems_by_subject
from contivpy.sim.kube import KubeApiStandIn
from reflector.harness import (
    Running,
    events_settled,
    eventually,
    has_warnings_on,
    warnings_on,
)

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


def service(name: str, port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": 8080}]},
    }


def put_port(kube: KubeApiStandIn, name: str, port: int) -> None:
    """Give the Service ``port``, straight into the stand-in's store: its validation (as an
    API server's) refuses a port out of range, so a refused Service can only get there so."""
    obj = kube.get("v1", "Service", name, namespace="default")
    obj["spec"]["ports"][0]["port"] = port
    kube.api.store.put(kube.api.resource("v1", "Service").key, obj)


def warnings_about(kube: KubeApiStandIn, name: str) -> list[dict[str, Any]]:
    """The Warning Events on the Service ``name``, oldest first."""
    return warnings_on(kube, "Service", name)


async def has_warnings(kube: KubeApiStandIn, name: str, count: int) -> list[dict[str, Any]]:
    return await has_warnings_on(kube, "Service", name, count)


async def writer_of(running: Running) -> RefusalEvents:
    async def writer() -> RefusalEvents | None:
        return running.reflector.refusal_events

    return await eventually(writer)


async def settled(running: Running, name: str, port: int) -> None:
    """Wait until the leader's view has the Service ``name`` with ``port`` and a whole pass
    of its Event writer has covered that view."""
    await events_settled(
        running,
        "service",
        name,
        lambda model: isinstance(model, Service) and model.ports[0].port == port,
    )


async def test_a_refused_service_gets_one_warning_naming_the_field(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    kube.apply(service("good"))
    kube.apply(service("bad"))
    put_port(kube, "bad", 0)
    uid = kube.get("v1", "Service", "bad", namespace="default")["metadata"]["uid"]
    async with run_reflector() as first:
        (event,) = await has_warnings(kube, "bad", 1)
        assert (event["reason"], event["message"]) == (
            "InvalidService",
            "spec.ports[0].port: 0 is out of range 1..65535",
        )
        assert event["involvedObject"]["apiVersion"] == "v1"
        assert event["involvedObject"]["uid"] == uid
        assert event["source"]["component"] == "contivpy-reflector"

        # Another pass (another Service changed) posts nothing more; the valid one has none.
        kube.apply(service("other", 81))
        await settled(first, "other", 81)
        assert len(warnings_about(kube, "bad")) == 1
        assert warnings_about(kube, "good") == warnings_about(kube, "other") == []

        # fixed: no Event says anything more; a Service broken later gets its own
        kube.apply(service("bad", 80))
        await settled(first, "bad", 80)
        put_port(kube, "other", 0)
        await has_warnings(kube, "other", 1)
        assert len(warnings_about(kube, "bad")) == 1
        await first.stop()

    # A new leader finds the same problem reported already.
    async with run_reflector(identity="r2") as second:
        await settled(second, "other", 0)
        put_port(kube, "other", 0)  # the same problem, only stored again
        await settled(second, "other", 0)
        assert (await writer_of(second)).events == 0
        assert len(warnings_about(kube, "other")) == 1

        # Broken again after the fix: a new occurrence, a new Event.
        kube.apply(service("other", 81))
        await settled(second, "other", 81)
        put_port(kube, "other", 0)
        second_time = await has_warnings(kube, "other", 2)
        assert [e["message"] for e in second_time] == [
            "spec.ports[0].port: 0 is out of range 1..65535"
        ] * 2
    assert len(warnings_about(kube, "bad")) == 1


def test_a_slice_problem_is_about_the_slice_and_its_service_endpoints_are_not_looked_at() -> None:
    service = Service(namespace="ns1", name="y", ports=[ServicePort(name="http", port=80)])
    bad_slice = EndpointSlice(
        namespace="ns1",
        name="y-abcde",
        service_name="y",
        address_type="IPv4",
        endpoints=[SliceEndpoint(addresses=["10.1.1.2", "nope"])],
        ports=[EndpointPort(name="http", port=8080)],
    )
    stale = Endpoints(
        namespace="ns1",
        name="y",
        subsets=[EndpointSubset(addresses=[EndpointAddress(ip="bad")], ports=[EndpointPort()])],
    )
    found = problems_by_subject(service, stale, [bad_slice])
    assert found == {
        Subject("EndpointSlice", "ns1", "y-abcde"): frozenset(
            {"endpoints[0].addresses[1]: 'nope' is not an IP address"}
        )
    }
    assert Subject("EndpointSlice", "ns1", "y-abcde").path == (
        "/apis/discovery.k8s.io/v1/namespaces/ns1/endpointslices/y-abcde"
    )
