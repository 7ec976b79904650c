"""discovery.k8s.io/v1 EndpointSlices -> models -> etcd bytes -> models, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from contivpy.models.k8s_codec import (
    EndpointSlice,
    ObjectReference,
    Protocol,
    decode,
    encode,
    key_of,
)
from contivpy.reflector.converting import convert
from contivpy.reflector.errors import ConversionError
from contivpy.reflector.kinds import BY_RESOURCE


def slice_json(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-abcde",
            "namespace": "shop",
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.1.1.5"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": "n1",
                "zone": "z1",
                "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "u1"},
            },
            {"addresses": ["10.1.2.7"], "conditions": {}},
            {"addresses": ["10.1.2.8"], "conditions": {"ready": False, "terminating": True}},
        ],
        "ports": [
            {"name": "http", "port": 8080, "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ],
        **extra,
    }


def test_slice_keeps_what_the_join_needs_and_round_trips_through_etcd() -> None:
    model = convert("endpointslice", slice_json())
    assert isinstance(model, EndpointSlice)
    assert (model.name, model.namespace, model.service_name) == ("web-abcde", "shop", "web")
    assert model.address_type == "IPv4"
    first, unset, terminating = model.endpoints
    assert first.addresses == ["10.1.1.5"]
    assert (first.ready, first.serving, first.terminating) == (True, True, False)
    assert (first.node_name, first.zone) == ("n1", "z1")
    assert first.target_ref == ObjectReference(kind="Pod", namespace="shop", name="web-1", uid="u1")
    # unset conditions stay unset (the API's "unknown": ready then counts as ready)
    assert (unset.ready, unset.serving, unset.terminating) == (None, None, None)
    assert (terminating.ready, terminating.terminating) == (False, True)
    assert [(p.name, p.port, p.protocol) for p in model.ports] == [
        ("http", 8080, Protocol.TCP),
        ("dns", 53, Protocol.UDP),
    ]

    key = key_of(model)
    assert key == "k8s/endpointslice/web-abcde/namespace/shop"
    decoded = decode(key, encode(model))
    assert decoded is not None
    assert decoded.resource == "endpointslice"
    assert decoded.model == model
    assert isinstance(decoded.model, EndpointSlice)
    assert decoded.model.endpoints[1].ready is None  # unset survives the round trip


def test_slice_without_service_label_belongs_to_no_service() -> None:
    obj = slice_json()
    del obj["metadata"]["labels"]
    model = convert("endpointslice", obj)
    assert isinstance(model, EndpointSlice)
    assert model.service_name == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endpoints": [{"addresses": "10.1.1.5"}]}, "endpoints[0].addresses"),
        ({"endpoints": [{"addresses": [], "conditions": {"ready": "yes"}}]}, "conditions.ready"),
        ({"ports": [{"port": 70000}]}, "ports[0].port"),
    ],
)
def test_bad_slice_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert("endpointslice", slice_json(**change))
    assert "shop/web-abcde" in str(raised.value)
    assert message in str(raised.value)


def test_slices_are_listed_and_watched_from_the_discovery_group() -> None:
    assert BY_RESOURCE["endpointslice"].path == "/apis/discovery.k8s.io/v1/endpointslices"
