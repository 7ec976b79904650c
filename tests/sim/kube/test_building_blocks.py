"""The pure parts: selectors, patches, schema checks, the store's window and snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from contivpy.sim.kube import KubeApiError
from contivpy.sim.kube.patching import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    apply_patch,
)
from contivpy.sim.kube.resources import ResourceType
from contivpy.sim.kube.schema import check
from contivpy.sim.kube.selectors import parse_field_selector, parse_label_selector
from contivpy.sim.kube.store import ObjectStore
from contivpy.sim.kube.watching import Watch, WatchOptions

PODS = ("", "pods")


def obj(name: str, labels: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels or {}}, **fields}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app in (db, web)", True),
        ("app notin (web)", False),
        ("tier", False),
        ("!tier", True),
        ("app=web,!tier,env in (prod)", True),
        ("example.com/role=edge", False),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    subject = obj("a", {"app": "web", "env": "prod"})
    assert parse_label_selector(selector).matches(subject) is matches


def test_bad_selectors_are_400() -> None:
    with pytest.raises(KubeApiError) as raised:
        parse_label_selector("app in web")
    assert raised.value.code == 400
    with pytest.raises(KubeApiError):
        parse_field_selector("spec.nodeName", {"spec.nodeName"})
    with pytest.raises(KubeApiError):
        parse_field_selector("spec.other=x", {"spec.nodeName"})


def test_field_selectors_compare_text() -> None:
    supported = {"spec.nodeName", "spec.hostNetwork", "metadata.name"}
    host = obj("a", spec={"hostNetwork": True})
    assert parse_field_selector("spec.hostNetwork=true", supported).matches(host)
    assert parse_field_selector("spec.nodeName=", supported).matches(host)
    assert parse_field_selector("spec.nodeName!=n1,metadata.name==a", supported).matches(host)
    assert not parse_field_selector("metadata.name=b", supported).matches(host)


def test_merge_and_strategic_patches() -> None:
    target = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "X", "status": "True"}]
        },
    }
    patch = {
        "metadata": {"labels": {"a": None, "c": "3"}},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "X", "$patch": "delete"},
            ]
        },
    }
    merged = apply_patch(target, patch, MERGE_PATCH)
    assert merged["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert merged["status"]["conditions"] == patch["status"]["conditions"]  # lists replaced
    strategic = apply_patch(target, patch, STRATEGIC_MERGE_PATCH + "; charset=utf-8")
    assert strategic["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert target["metadata"]["labels"] == {"a": "1", "b": "2"}  # the input is not changed


def test_json_patch_operations() -> None:
    target = {"spec": {"ports": [{"port": 80}], "name": "x"}}
    patched = apply_patch(
        target,
        [
            {"op": "add", "path": "/spec/ports/-", "value": {"port": 81}},
            {"op": "replace", "path": "/spec/name", "value": "y"},
            {"op": "copy", "from": "/spec/name", "path": "/spec/alias"},
            {"op": "move", "from": "/spec/alias", "path": "/spec/moved"},
            {"op": "remove", "path": "/spec/ports/0"},
            {"op": "test", "path": "/spec/ports/0/port", "value": 81},
        ],
        JSON_PATCH,
    )
    assert patched == {"spec": {"ports": [{"port": 81}], "name": "y", "moved": "y"}}
    with pytest.raises(KubeApiError) as failed:
        apply_patch(target, [{"op": "test", "path": "/spec/name", "value": "z"}], JSON_PATCH)
    assert failed.value.code == 422
    with pytest.raises(KubeApiError) as unknown:
        apply_patch(target, {}, "application/apply-patch+yaml")
    assert unknown.value.code == 415


def test_schema_prunes_defaults_and_validates() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string", "enum": ["L2", "L3"]},
                    "vlan": {"type": "integer", "minimum": 0, "maximum": 4095},
                    "mode": {"type": "string", "default": "auto"},
                    "name": {"type": "string", "pattern": "^[a-z]+$"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }
        },
    }
    good, causes = check(
        {
            "apiVersion": "x/v1",
            "kind": "K",
            "metadata": {},
            "spec": {"type": "L2", "junk": 1, "free": {"any": 1}},
        },
        schema,
    )
    assert causes == []
    assert good["spec"] == {"type": "L2", "mode": "auto", "free": {"any": 1}}
    _, causes = check({"spec": {"type": "L4", "vlan": 5000, "name": "A1"}, "extra": 1}, schema)
    assert {c["field"] for c in causes} == {"spec.type", "spec.vlan", "spec.name"}
    _, missing = check({"spec": {}}, schema)
    assert missing[0]["field"] == "spec.type"
    assert missing[0]["reason"] == "FieldValueRequired"
    _, wrong_type = check({"spec": {"type": "L2", "vlan": "7"}}, schema)
    assert wrong_type[0]["field"] == "spec.vlan"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("[a-z]+", "A1b", True),  # unanchored: a match anywhere will do, as in Go's regexp
        ("^[a-z]+$", "abc", True),
        ("^[a-z]+$", "abc\n", False),  # Go's $ is the end of the text, not before a newline
        ("^[a-z$]+$", "a$b", True),  # a $ in a character class is a member
        ("^[]$]+$", "]$", True),  # and so is a ] first in a class
        ("^[^]$]+$", "ab", True),
        ("^[^]$]+$", "a$", False),
        ("^a\\$", "a$", True),  # an escaped $ is the character
        ("^a\\z", "a", True),  # Go's \z: the end of the text
        ("^a\\z", "a\n", False),
    ],
)
def test_schema_patterns_match_as_the_api_server_matches_them(
    pattern: str, value: str, matches: bool
) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}}
    _, causes = check({"v": value}, schema)
    assert (causes == []) is matches, causes


def test_store_versions_window_and_snapshots() -> None:
    store = ObjectStore(window=3)
    start = store.resource_version
    store.put(PODS, obj("a", {"v": "1"}))
    after_a = store.resource_version
    store.put(PODS, obj("a", {"v": "2"}))
    store.put(PODS, obj("b"))
    assert store.get(PODS, "ns", "a")["metadata"]["resourceVersion"] == str(after_a + 1)
    at_a = store.objects_at(PODS, None, after_a)
    assert [(o["metadata"]["name"], o["metadata"]["labels"]) for o in at_a] == [("a", {"v": "1"})]
    assert store.is_retained(start)
    store.remove(PODS, "ns", "b")  # a fourth change: the window of 3 drops the first
    assert not store.is_retained(start)
    assert store.is_retained(after_a)
    kinds = [e.type for e in store.events_after(PODS, after_a)]
    assert kinds == ["MODIFIED", "ADDED", "DELETED"]
    assert store.compact() == store.resource_version
    assert store.events_after(PODS, 0) == []


async def test_a_watch_that_falls_too_far_behind_is_closed() -> None:
    store = ObjectStore()
    pods = ResourceType("", "v1", "pods", "Pod", True)
    slow = Watch(
        store,
        pods,
        WatchOptions(resource_version=str(store.resource_version)),
        bookmark_interval=60,
        queue_limit=2,
    )
    slow.start()
    for name in ("a", "b", "c"):
        store.put(PODS, obj(name))
    received = [event async for event in slow.events()]
    assert [e["object"]["metadata"]["name"] for e in received] == ["a", "b"]
    assert slow.close_reason == "too slow"
    assert store.watch_count() == 0
