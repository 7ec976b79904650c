"""The Kubernetes model codec: keys per kind, deterministic JSON, decoding that names the field.

Property tests build arbitrary models of every stored kind from the messages' own field
metadata (so a field added to a .proto is covered without touching this file).
"""

from __future__ import annotations

import json
from typing import Any

import betterproto2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.models.decoded import DecodeError
from contivpy.models.k8s_codec import (
    RESOURCES,
    IntOrString,
    K8sModel,
    LabelSelector,
    ModelDecodeError,
    Namespace,
    ObjectId,
    Pod,
    Policy,
    PolicyIngressRule,
    PolicyPeer,
    Resource,
    VppNode,
    decode,
    encode,
    key_for,
    key_of,
    parse_key,
    resource,
    resource_of,
)

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
SEGMENT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/"), min_size=1)
INT_BOUNDS = {
    betterproto2.TYPE_INT32: (-(2**31), 2**31 - 1),
    betterproto2.TYPE_UINT32: (0, 2**32 - 1),
}


def _scalar(proto_type: str, field_cls: Any, depth: int) -> st.SearchStrategy[Any]:
    if proto_type == betterproto2.TYPE_STRING:
        return TEXT
    if proto_type == betterproto2.TYPE_BOOL:
        return st.booleans()
    if proto_type in INT_BOUNDS:
        low, high = INT_BOUNDS[proto_type]
        return st.integers(low, high)
    if proto_type == betterproto2.TYPE_ENUM:
        return st.sampled_from(list(field_cls))
    assert proto_type == betterproto2.TYPE_MESSAGE, proto_type
    return messages(field_cls, depth + 1)


def messages(cls: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Arbitrary messages of ``cls`` (nested messages absent below depth 3)."""
    metadata = cls._betterproto
    fields: dict[str, st.SearchStrategy[Any]] = {}
    groups: dict[str, list[str]] = {}
    for name, meta in metadata.meta_by_field_name.items():
        field_cls = metadata.cls_by_field[name]
        if meta.group is not None:
            groups.setdefault(meta.group, []).append(name)
            continue
        if meta.proto_type == betterproto2.TYPE_MAP:
            fields[name] = st.dictionaries(TEXT, TEXT, max_size=3)
        elif meta.repeated:
            item = _scalar(meta.proto_type, field_cls, depth)
            fields[name] = st.lists(item, max_size=2 if depth < 3 else 0)
        elif meta.proto_type == betterproto2.TYPE_MESSAGE:
            fields[name] = st.none() | messages(field_cls, depth + 1) if depth < 3 else st.none()
        else:
            fields[name] = _scalar(meta.proto_type, field_cls, depth)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        values = {name: draw(strategy) for name, strategy in fields.items()}
        for members in groups.values():  # a oneof: at most one member set
            chosen = draw(st.sampled_from([None, *members]))
            if chosen is not None:
                meta = metadata.meta_by_field_name[chosen]
                values[chosen] = draw(_scalar(meta.proto_type, metadata.cls_by_field[chosen], 0))
        return cls(**values)

    return build()


@st.composite
def stored_models(draw: st.DrawFn) -> tuple[Resource, K8sModel]:
    """A model of any stored kind, named so that it has a key."""
    found = draw(st.sampled_from(RESOURCES))
    model = draw(messages(found.model))
    if isinstance(model, VppNode):
        return found, model
    model.name = draw(SEGMENT)
    if found.namespaced is True:
        model.namespace = draw(SEGMENT)
    elif found.namespaced is None:
        model.namespace = draw(st.just("") | SEGMENT)
    return found, model


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(stored_models())
def test_encode_decode_round_trip(drawn: tuple[Resource, K8sModel]) -> None:
    found, model = drawn
    key = key_of(model)
    data = encode(model)
    decoded = decode(key, data)
    assert decoded is not None
    assert decoded.resource == found.name
    assert decoded.key == key
    assert decoded.model == model
    assert encode(decoded.model) == data  # deterministic: equal models, equal bytes
    assert json.loads(data) == json.loads(json.dumps(json.loads(data), sort_keys=True))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RESOURCES), SEGMENT, st.just("") | SEGMENT, st.integers(0, 2**32 - 1))
def test_key_build_parse_round_trip(found: Resource, name: str, ns: str, node_id: int) -> None:
    if found.model is VppNode:
        name, ns = str(node_id), ""
    elif found.namespaced is True and not ns:
        with pytest.raises(ValueError, match="needs a namespace"):
            key_for(found.name, name)
        return
    elif found.namespaced is False and ns:
        with pytest.raises(ValueError, match="not namespaced"):
            key_for(found.name, name, ns)
        return
    key = key_for(found.name, name, ns)
    assert key.startswith(found.key_prefix)
    assert parse_key(key) == ObjectId(found.name, name, ns)
    assert resource_of(key) == found.name


def test_contiv_key_layout() -> None:
    assert key_for("pod", "web", "default") == "k8s/pod/web/namespace/default"
    assert key_for("namespace", "default") == "k8s/namespace/default"
    assert key_for("node", "n1") == "k8s/node/n1"
    assert key_for("service", "s", "ns") == "k8s/service/s/namespace/ns"
    assert key_for("endpoints", "s", "ns") == "k8s/endpoints/s/namespace/ns"
    assert key_for("policy", "p", "ns") == "k8s/policy/p/namespace/ns"
    assert key_for("customnetwork", "net") == "k8s/customnetwork/net"
    assert key_for("external-interface", "e", "ns") == "k8s/external-interface/e/namespace/ns"
    assert key_for("servicefunctionchain", "c") == "k8s/servicefunctionchain/c"
    assert key_for("customconfiguration", "c") == "k8s/customconfiguration/c"
    assert key_of(VppNode(id=7, name="n1")) == "allocatedIDs/7"
    assert [r.name for r in RESOURCES][:4] == ["vppnode", "node", "pod", "namespace"]


@pytest.mark.parametrize(
    "key",
    [
        "k8s/nodeconfig/n1",  # Contiv resources we do not model
        "custom-ipam/pod/ns",
        "idalloc/vni",
        "status/gauges",
        "election/leader",
        "k8s/pod/web",  # a pod key without its namespace
        "k8s/node/n1/namespace/x",  # a node is not namespaced
        "k8s/pod//namespace/default",
        "k8s/pod/a/b/namespace/default",
        "allocatedIDs/x",
    ],
)
def test_keys_of_no_known_object_decode_to_none(key: str) -> None:
    assert parse_key(key) is None
    assert decode(key, b"{not json") is None


POD_KEY = "k8s/pod/web/namespace/default"


@pytest.mark.parametrize(
    ("key", "data", "message", "field"),
    [
        (
            POD_KEY,
            b'{"name":"web","namespace":"default","ip_address":5}',
            "pod default/web: field 'ip_address': expected a string, got 5",
            "ip_address",
        ),
        (
            POD_KEY,
            b'{"name":"web","namespace":"default","containers":[{"ports":[{"container_port":"80"}]}]}',
            "field 'containers[0].ports[0].container_port': expected an integer",
            "containers[0].ports[0].container_port",
        ),
        (
            POD_KEY,
            b'{"name":"web","namespace":"default","labels":{"a":1}}',
            "field 'labels['a']': expected a string",
            "labels['a']",
        ),
        (
            POD_KEY,
            b'{"name":"web","namespace":"default","host_network":"yes"}',
            "field 'host_network': expected true or false",
            "host_network",
        ),
        (POD_KEY, b"{", "pod default/web: not valid JSON", ""),
        (POD_KEY, b"\xff", "not valid JSON", ""),
        (POD_KEY, b"[1]", "pod default/web: expected an object, got a list", ""),
        (
            POD_KEY,
            b'{"name":"other","namespace":"default"}',
            "names default/other, not the key's object",
            "name/namespace",
        ),
        (
            "k8s/service/s/namespace/ns",
            b'{"name":"s","namespace":"ns","ports":[{"protocol":"ICMP"}]}',
            "service ns/s: field 'ports[0].protocol': unknown value 'ICMP'",
            "ports[0].protocol",
        ),
        (
            "k8s/service/s/namespace/ns",
            b'{"name":"s","namespace":"ns","ports":[{"target_port":{"number":1,"name":"x"}}]}',
            "only one of",
            "ports[0].target_port.name",
        ),
        (
            "k8s/customnetwork/n",
            b'{"name":"n","subnet_one_node_prefix_len":-1}',
            "-1 is out of range for uint32",
            "subnet_one_node_prefix_len",
        ),
        ("allocatedIDs/3", b'{"id":4,"name":"n1"}', "vppnode 3: field 'id'", "id"),
    ],
)
def test_malformed_values_name_resource_object_field_and_key(
    key: str, data: bytes, message: str, field: str
) -> None:
    with pytest.raises(DecodeError) as raised:
        decode(key, data)
    error = raised.value
    assert isinstance(error, ModelDecodeError)
    assert message in str(error)
    assert f"(key {key})" in str(error)
    assert error.field == field
    assert error.key == key


def test_unknown_fields_and_nulls_are_tolerated() -> None:
    data = b'{"name":"web","namespace":"default","future_field":{"x":1},"ip_address":null}'
    decoded = decode(POD_KEY, data)
    assert decoded is not None
    assert decoded.model == Pod(name="web", namespace="default")


def test_camel_case_names_are_accepted_too() -> None:
    decoded = decode(POD_KEY, b'{"name":"web","namespace":"default","ipAddress":"10.1.1.2"}')
    assert decoded is not None
    assert isinstance(decoded.model, Pod)
    assert decoded.model.ip_address == "10.1.1.2"


def test_policy_peer_keeps_namespace_and_pod_selectors_and_empty_means_all() -> None:
    peer = PolicyPeer(
        pod_selector=LabelSelector(match_labels={"app": "db"}),
        namespace_selector=LabelSelector(),  # present but empty: every namespace
    )
    policy = Policy(
        name="p",
        namespace="ns",
        pod_selector=LabelSelector(),
        ingress_rules=[PolicyIngressRule(from_=[peer, PolicyPeer()])],
    )
    data = encode(policy)
    assert b'"namespace_selector":{}' in data
    assert b'"from":[' in data  # the proto name, not Python's from_
    decoded = decode(key_of(policy), data)
    assert decoded is not None
    assert isinstance(decoded.model, Policy)
    peers = decoded.model.ingress_rules[0].from_
    assert peers[0].namespace_selector == LabelSelector()
    assert peers[0].pod_selector == LabelSelector(match_labels={"app": "db"})
    assert peers[1].namespace_selector is None
    assert peers[1].pod_selector is None


def test_int_or_string_zero_survives() -> None:
    port = IntOrString(number=0)
    assert port.number == 0
    assert json.loads(encode(Namespace(name="x"))) == {"name": "x"}


def test_encode_refuses_other_messages_and_key_for_refuses_bad_names() -> None:
    with pytest.raises(TypeError):
        encode(LabelSelector())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be part of a key"):
        key_for("node", "a/b")
    with pytest.raises(ValueError, match="node ID"):
        key_for("vppnode", "n1")
    with pytest.raises(KeyError):
        resource("nodeconfig")
