"""The plugin's hand-encoded RemoteCNI messages against the generated classes the agent uses."""

from __future__ import annotations

import json

import pytest

from contivpy._gen.contivpy.cni.v1 import (
    CniReply,
    CniReplyInterface,
    CniReplyInterfaceIp,
    CniReplyInterfaceIpVersion,
    CniReplyResult,
    CniReplyRoute,
)
from contivpy._gen.contivpy.cni.v1 import CniRequest as CniRequestMessage
from contivpy.api.cni_server import typed_request
from contivpy.cni.types import CniCode, CniError, CniIP, CniRequest, CniResult, PodRef
from contivpy.cni.wire import decode_reply, decode_request, encode_request


def test_the_agent_reads_the_request_the_plugin_encodes() -> None:
    request = CniRequest(
        "c0ffee" * 20,  # longer than 127 bytes: a two-byte length
        "/var/run/netns/cni-1",
        "eth0",
        PodRef("default", "wéb"),
        cni_version="0.4.0",
        config={"cniVersion": "0.4.0", "name": "k8s-pod-network", "grpcServer": "/x.sock"},
        args="K8S_POD_NAMESPACE=default;K8S_POD_NAME=wéb",
    )
    message = CniRequestMessage.parse(encode_request(request.document()))
    assert message.network_namespace == "/var/run/netns/cni-1"
    assert json.loads(message.extra_nw_config)["grpcServer"] == "/x.sock"
    assert typed_request(decode_request(encode_request(request.document()))) == request


def test_the_plugin_reads_the_reply_the_agent_encodes() -> None:
    reply = CniReply(
        result=CniReplyResult.OK,
        interfaces=[
            CniReplyInterface(name="tap0", mac="02:fe:00:00:00:09"),
            CniReplyInterface(
                name="eth0",
                mac="02:fe:00:00:00:01",
                sandbox="/var/run/netns/cni-1",
                ip_addresses=[
                    CniReplyInterfaceIp(address="10.1.1.2/32", gateway="10.1.1.1"),
                    CniReplyInterfaceIp(
                        version=CniReplyInterfaceIpVersion.IPV6, address="fd00::2/128"
                    ),
                ],
            ),
        ],
        routes=[CniReplyRoute(dst="0.0.0.0/0", gw="10.1.1.1"), CniReplyRoute(dst="fd00::/8")],
    )
    document = decode_reply(bytes(reply))
    assert document["ips"][1] == {"address": "fd00::2/128", "gateway": "", "interface": 1}
    result = CniResult.from_reply(document)
    assert [(i.name, i.mac, i.sandbox) for i in result.interfaces] == [
        ("tap0", "02:fe:00:00:00:09", ""),
        ("eth0", "02:fe:00:00:00:01", "/var/run/netns/cni-1"),
    ]
    assert result.ips == (CniIP("10.1.1.2/32", "10.1.1.1", 1), CniIP("fd00::2/128", "", 1))
    assert [(r.dst, r.gw) for r in result.routes] == [("0.0.0.0/0", "10.1.1.1"), ("fd00::/8", "")]


def test_an_error_reply_is_the_agents_cni_error() -> None:
    reply = CniReply(result=CniReplyResult.ERROR, error="no free pod IP", error_code=102)
    with pytest.raises(CniError) as error:
        decode_reply(bytes(reply))
    assert (error.value.code, error.value.message) == (CniCode.IP_EXHAUSTED, "no free pod IP")
    with pytest.raises(CniError) as bare:
        decode_reply(bytes(CniReply(result=CniReplyResult.ERROR)))
    assert bare.value.code == CniCode.WIRING_FAILED


def test_a_garbled_reply_is_a_decode_failure() -> None:
    good = bytes(CniReply(routes=[CniReplyRoute(dst="0.0.0.0/0", gw="10.1.1.1")]))
    with pytest.raises(CniError) as error:
        decode_reply(good[:-3])
    assert error.value.code == CniCode.DECODE_FAILURE
