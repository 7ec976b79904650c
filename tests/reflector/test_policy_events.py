"""Refused NetworkPolicies end to end: the stand-in API server -> the reflector's leader ->
Warning Events on the policies, read back from the stand-in as ``kubectl get events`` lists
them (and as a real ``kubectl get events`` shows them, where kubectl is installed; kubectl's
``describe networkpolicy``, unlike ``describe service``, lists no Events of the object)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contivpy.models.k8s_codec import Policy
from contivpy.sim.kube import KubeApiStandIn
from reflector.harness import Running, events_settled, has_warnings_on, warnings_on

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]
NETWORKING = "networking.k8s.io/v1"
BAD_CIDR = "spec.ingress[0].from[0].ipBlock.cidr: 'nope' is not a CIDR"
NAMED_END_PORT = "spec.ingress[0].ports[0].endPort: cannot be used with a named port"


def policy(name: str, cidr: str = "10.0.0.0/8") -> dict[str, Any]:
    return {
        "apiVersion": NETWORKING,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": name}},
            "ingress": [{"from": [{"ipBlock": {"cidr": cidr}}]}],
        },
    }


def put_spec(kube: KubeApiStandIn, name: str, **ingress: Any) -> None:
    """Set fields of the policy's first ingress rule straight into the stand-in's store: its
    validation (as an API server's) may refuse them, so a refused policy can only get there
    so."""
    obj = kube.get(NETWORKING, "NetworkPolicy", name, namespace="default")
    obj["spec"]["ingress"][0].update(ingress)
    kube.api.store.put(kube.api.resource(NETWORKING, "NetworkPolicy").key, obj)


def warnings_about(kube: KubeApiStandIn, name: str) -> list[dict[str, Any]]:
    """The Warning Events on the NetworkPolicy ``name``, oldest first."""
    return warnings_on(kube, "NetworkPolicy", name)


async def has_warnings(kube: KubeApiStandIn, name: str, count: int) -> list[dict[str, Any]]:
    return await has_warnings_on(kube, "NetworkPolicy", name, count)


async def settled(running: Running, name: str, check: Callable[[Policy], bool]) -> None:
    """Wait until the leader's view has the policy ``name`` as ``check`` wants it and a whole
    pass of its Event writer has covered that view."""
    await events_settled(
        running, "policy", name, lambda model: isinstance(model, Policy) and check(model)
    )


def _cidr(model: Policy) -> str:
    block = model.ingress_rules[0].from_[0].ip_block
    return block.cidr if block is not None else ""


async def test_a_refused_policy_gets_one_warning_per_problem_naming_the_field(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    kube.apply(policy("good"))
    kube.apply(policy("bad"))
    put_spec(kube, "bad", **{"from": [{"ipBlock": {"cidr": "nope"}}]})
    uid = kube.get(NETWORKING, "NetworkPolicy", "bad", namespace="default")["metadata"]["uid"]
    async with run_reflector() as first:
        (event,) = await has_warnings(kube, "bad", 1)
        assert (event["reason"], event["message"]) == ("InvalidNetworkPolicy", BAD_CIDR)
        assert event["involvedObject"]["apiVersion"] == NETWORKING
        assert event["involvedObject"]["uid"] == uid
        assert event["source"]["component"] == "contivpy-reflector"

        # Another pass (another policy changed) posts nothing more; the valid ones have none.
        kube.apply(policy("other", "10.1.0.0/16"))
        await settled(first, "other", lambda m: _cidr(m) == "10.1.0.0/16")
        assert len(warnings_about(kube, "bad")) == 1
        assert warnings_about(kube, "good") == warnings_about(kube, "other") == []

        # A second problem on the same policy: its own Event, the first not repeated.
        put_spec(kube, "bad", ports=[{"port": "http", "endPort": 90}])
        second = await has_warnings(kube, "bad", 2)
        assert [e["message"] for e in second] == [BAD_CIDR, NAMED_END_PORT]

        # Fixed: nothing more is said about it, however often it changes.
        kube.apply(policy("bad", "10.2.0.0/16"))
        await settled(
            first, "bad", lambda m: _cidr(m) == "10.2.0.0/16" and not m.ingress_rules[0].ports
        )
        kube.apply(policy("bad", "10.3.0.0/16"))
        await settled(first, "bad", lambda m: _cidr(m) == "10.3.0.0/16")
        assert len(warnings_about(kube, "bad")) == 2
        await first.stop()

    # A new leader finds the problems of a policy still refused reported already.
    put_spec(kube, "other", **{"from": [{"ipBlock": {"cidr": "nope"}}]})
    async with run_reflector(identity="r2") as second_leader:
        (event,) = await has_warnings(kube, "other", 1)
        await settled(second_leader, "other", lambda m: _cidr(m) == "nope")
    async with run_reflector(identity="r3") as third:
        await settled(third, "other", lambda m: _cidr(m) == "nope")
        writer = third.reflector.refusal_events
        assert writer is not None
        assert writer.events == 0
        assert len(warnings_about(kube, "other")) == 1


KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (kubernetes-client)")
async def test_kubectl_get_events_shows_the_warning_on_the_policy(
    kube: KubeApiStandIn, run_reflector: RunReflector, kubeconfig: Path
) -> None:
    kube.apply(policy("bad"))
    put_spec(kube, "bad", **{"from": [{"ipBlock": {"cidr": "nope"}}]})
    async with run_reflector():
        await has_warnings(kube, "bad", 1)
    assert KUBECTL is not None
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(kubeconfig),
        "-n",
        "default",
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=NetworkPolicy",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "InvalidNetworkPolicy" in out.decode(), out.decode()
    assert "networkpolicy/bad" in out.decode(), out.decode()
    assert "is not a CIDR" in out.decode(), out.decode()
