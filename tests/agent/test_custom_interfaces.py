"""Custom pod interfaces (contivpp.io/custom-if) through the node agent: what VPP holds for
them, what a bad annotation does (a clear CNI error, recorded, nothing else disturbed), and
that restarts and deletions leave exactly what they should (real etcd, VPP simulator)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from contivpy.cni.types import CniCode, CniError, CniRequest, PodRef
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.deviceplugin import MemifAllocation, MemifGrant
from contivpy.models.k8s_codec import Pod, encode, key_for
from contivpy.sim.vpp.model import Interface, Kind
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request

SECRET = "s3cr3t-of-twenty-chr"


def by_tag(state: VppState) -> dict[str, Interface]:
    return {i.tag: i for i in state.interfaces.values() if i.tag}


async def reflect(node: Node, name: str, annotations: dict[str, str]) -> None:
    """Put the pod into etcd as the reflector would, and wait until the agent has it."""
    pod = Pod(name=name, namespace="default", annotations=annotations, node_name=node.name)
    await node.store.put(node.prefix + key_for("pod", name, "default"), encode(pod))
    agent = node.agent
    assert agent is not None
    await eventually(lambda: agent.pods.reflected(PodID("default", name)))


def granting(tmp_path: Path, count: int) -> Callable[[PodRef], Awaitable[MemifGrant | None]]:
    """A grant of ``count`` devices per pod, its socket directory under tmp_path (as the
    device plugin's allocations are)."""

    async def lookup(pod: PodRef) -> MemifGrant | None:
        devices = tuple(f"contivpp.io/memif/{pod.name}-{i}" for i in range(count))
        return MemifGrant((MemifAllocation(devices, tmp_path / pod.name, SECRET),))

    return lookup


@pytest.fixture
async def node(make_node: Callable[[str], Awaitable[Node]], tmp_path: Path) -> Node:
    made = await make_node("n1")
    made.memif_grants = granting(tmp_path, 2)
    await made.start_agent()
    return made


async def test_a_pod_gets_its_tap_veth_and_memif_with_ips_routes_and_neighbours(
    node: Node,
) -> None:
    agent = node.agent
    assert agent is not None
    await reflect(node, "multi", {"contivpp.io/custom-if": "tap1/tap, veth1/veth, m1/memif"})
    request = pod_request("multi")
    cid = request.container_id
    result = await agent.cni.add(request)

    # The CNI result: eth0, tap1 and veth1 (memifs are no netdev in the pod), each with an IP.
    assert [i.name for i in result.interfaces] == ["eth0", "tap1", "veth1"]
    assert [i.interface for i in result.ips] == [0, 1, 2]
    ips = {result.interfaces[i.interface].name: i.address for i in result.ips}
    subnet = ipaddress.ip_network("10.1.1.0/24")
    assert all(ipaddress.ip_interface(a).ip in subnet for a in ips.values())
    assert len(set(ips.values())) == 3

    vpp = by_tag(node.sim.state)
    tap = vpp[naming.custom_vpp_tap("tap1", cid)]
    afp = vpp[naming.custom_afpacket("veth1", cid)]
    memif = vpp[naming.custom_memif("m1", cid)]
    gw_loop = vpp[naming.POD_GW_LOOP]
    assert tap.kind is Kind.TAP
    assert tap.tap is not None
    assert tap.tap.host_if_name == "tap1"
    assert afp.kind is Kind.AF_PACKET
    assert memif.kind is Kind.MEMIF
    assert memif.memif is not None
    assert memif.memif.id == 1
    assert memif.memif.role == 0
    assert node.sim.state.memif_sockets[memif.memif.socket_id] == str(
        node.dir.parent / "multi" / "memif.sock"
    )
    for interface in (tap, afp, memif):
        assert interface.vrf4 == 1
        assert interface.unnumbered_of == gw_loop.sw_if_index
        assert interface.admin_up
    assert tap.mac.hex(":") == naming.pod_vpp_mac(cid, "tap1")
    # a /32 route per custom IP out of its interface in the pod VRF
    routes = node.sim.state.routes[(False, 1)]
    for name, interface in (("tap1", tap), ("veth1", afp)):
        host = ipaddress.ip_interface(ips[name]).ip
        route = routes[ipaddress.ip_network(f"{host}/32")]
        assert [p.sw_if_index for p in route.paths] == [interface.sw_if_index]
    # and a static neighbour for tap and veth, with the pod-side MAC
    neighbours = {
        (n.sw_if_index, str(n.ip)): n.mac.hex(":") for n in node.sim.state.neighbors.values()
    }
    host = str(ipaddress.ip_interface(ips["tap1"]).ip)
    assert neighbours[(tap.sw_if_index, host)] == naming.pod_mac(cid, "tap1")


async def test_a_stub_interface_gets_no_ip_no_vrf_no_route(node: Node) -> None:
    agent = node.agent
    assert agent is not None
    await reflect(node, "stubby", {"contivpp.io/custom-if": "s1/tap/stub"})
    request = pod_request("stubby")
    result = await agent.cni.add(request)
    assert [i.name for i in result.interfaces] == ["eth0", "s1"]
    assert len(result.ips) == 1  # eth0's only
    stub = by_tag(node.sim.state)[naming.custom_vpp_tap("s1", request.container_id)]
    assert stub.vrf4 == 0
    assert stub.unnumbered_of is None
    assert not stub.addresses
    assert len(agent.ipam.custom_ips_of(PodID("default", "stubby"))) == 0


@pytest.mark.parametrize(
    ("annotation", "entry"),
    [
        ("tap1/warp-drive", "'tap1/warp-drive': unknown type 'warp-drive'"),
        ("a/tap, a/veth", "'a/veth': name 'a' is taken"),
        ("x/tap/blue", "'x/tap/blue': network 'blue' does not exist"),
        ("m1/memif, m2/memif, m3/memif", "'m3/memif': 3 memif interfaces but 2"),
    ],
)
async def test_a_bad_annotation_fails_the_add_clearly_and_disturbs_nothing(
    node: Node, annotation: str, entry: str
) -> None:
    agent = node.agent
    assert agent is not None
    await reflect(node, "good", {"contivpp.io/custom-if": "tap1/tap"})
    good = await agent.cni.add(pod_request("good"))
    vpp_before = {tag: (i.kind, i.vrf4) for tag, i in by_tag(node.sim.state).items()}
    writes = node.sim.writes()
    ips_before = agent.ipam.allocations()

    await reflect(node, "bad", {"contivpp.io/custom-if": annotation})
    with pytest.raises(CniError) as failed:
        await agent.cni.add(pod_request("bad"))
    assert failed.value.code == CniCode.INVALID_CONFIG
    message = str(failed.value)
    assert "pod default/bad" in message
    assert "annotation contivpp.io/custom-if" in message
    assert entry in message
    # recorded where an operator looks: the event history (ctl events) with the error
    (record,) = [r for r in agent.loop.history.records() if "default/bad" in r.description]
    assert entry in record.error
    # nothing else disturbed: no VPP write, no IP given, the good pod as it was
    assert node.sim.writes() == writes
    assert {t: (i.kind, i.vrf4) for t, i in by_tag(node.sim.state).items()} == vpp_before
    assert agent.ipam.allocations() == ips_before
    assert PodID("default", "bad") not in agent.pods.pods
    assert agent.pods.pods[PodID("default", "good")].custom[0].name == "tap1"
    assert good.interfaces[1].name == "tap1"


async def test_memif_without_a_grant_is_refused(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")  # no device plugin: no grant
    agent = await node.start_agent()
    await reflect(node, "cnf", {"contivpp.io/custom-if": "m1/memif"})
    with pytest.raises(CniError, match=r"needs the contivpp\.io/memif resource"):
        await agent.cni.add(pod_request("cnf"))


async def test_restart_makes_zero_writes_and_delete_removes_every_custom_interface(
    node: Node,
) -> None:
    agent = node.agent
    assert agent is not None
    await reflect(node, "multi", {"contivpp.io/custom-if": "tap1/tap, veth1/veth, m1/memif"})
    request = pod_request("multi")
    await agent.cni.add(request)
    custom_ips = agent.ipam.custom_ips_of(PodID("default", "multi"))
    assert sorted(custom_ips) == ["m1", "tap1", "veth1"]  # a memif in the default network too
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes  # zero VPP writes on restart
    assert agent.ipam.custom_ips_of(PodID("default", "multi")) == custom_ips
    assert agent.pods.pods[PodID("default", "multi")].memif is not None

    before = set(by_tag(node.sim.state))
    await agent.cni.delete(request)
    gone = before - set(by_tag(node.sim.state))
    cid = request.container_id
    assert {
        naming.custom_vpp_tap("tap1", cid),
        naming.custom_afpacket("veth1", cid),
        naming.custom_memif("m1", cid),
        naming.pod_vpp_tap(cid),
    } <= gone
    assert not node.sim.state.memif_sockets.get(1)  # the pod's socket file unregistered


async def test_a_new_sandbox_with_fewer_custom_interfaces_releases_the_others(
    node: Node,
) -> None:
    agent = node.agent
    assert agent is not None
    await reflect(node, "p", {"contivpp.io/custom-if": "tap1/tap, tap2/tap"})
    await agent.cni.add(pod_request("p"))
    assert sorted(agent.ipam.custom_ips_of(PodID("default", "p"))) == ["tap1", "tap2"]
    await reflect(node, "p", {"contivpp.io/custom-if": "tap1/tap"})
    second = replace(pod_request("p"), container_id="f" * 64)
    assert isinstance(second, CniRequest)
    await agent.cni.add(second)
    assert sorted(agent.ipam.custom_ips_of(PodID("default", "p"))) == ["tap1"]
    tags = set(by_tag(node.sim.state))
    assert naming.custom_vpp_tap("tap2", second.container_id) not in tags
    assert naming.custom_vpp_tap("tap1", second.container_id) in tags


async def test_a_cnf_pod_gets_its_side_written_for_its_own_agent(node: Node) -> None:
    agent = node.agent
    assert agent is not None
    store = node.store
    theirs = b'{"name":"t9","type":"EXISTING"}'
    foreign = "/vnf-agent/cnf1/config/linux/interfaces/v2/interface/t9"
    await store.put(foreign, theirs)  # a CustomConfiguration's value: never ours to touch
    annotations = {
        "contivpp.io/custom-if": "m1/memif, t1/tap, t9/tap/stub",
        "contivpp.io/microservice-label": "cnf1",
    }
    await reflect(node, "cnf", annotations)
    request = pod_request("cnf")
    result = await agent.cni.add(request)
    cid = request.container_id
    written = {kv.key: kv for kv in (await store.list("/vnf-agent/cnf1/")).items}
    prefix = "/vnf-agent/cnf1/config/"
    memif = json.loads(written[prefix + "vpp/v2/interfaces/m1"].value)
    ips = agent.ipam.custom_ips_of(PodID("default", "cnf"))
    assert memif["type"] == "MEMIF"
    assert not memif["memif"].get("master")  # the CNF's side is the slave (false: omitted)
    assert memif["memif"]["socket_filename"] == "/run/vpp/memif.sock"
    assert memif["memif"]["secret"] == SECRET
    assert memif["memif"]["id"] == 1
    assert memif["ip_addresses"] == [f"{ips['m1']}/32"]
    assert memif["phys_address"] == naming.pod_mac(cid, "m1")
    gateway = result.ips[0].gateway
    arp = [k for k in written if k.startswith(prefix + "vpp/v2/arp/m1/")]
    assert arp == [f"{prefix}vpp/v2/arp/m1/{gateway}"]
    assert any(k.startswith(prefix + "vpp/v2/route/") for k in written)
    tap = json.loads(written[prefix + "linux/interfaces/v2/interface/t1"].value)
    assert tap["type"] == "EXISTING"
    assert tap["ip_addresses"] == [f"{ips['t1']}/32"]
    assert written[foreign].value == theirs  # left alone
    assert any("netalloc" in k and k.endswith("/interface/t1") for k in written)
    # linkOnly: the vswitch puts no neighbour on the CNF's tap (its agent owns the pod side)
    tap_vpp = by_tag(node.sim.state)[naming.custom_vpp_tap("t1", cid)]
    assert not [
        n for n in node.sim.state.neighbors.values() if n.sw_if_index == tap_vpp.sw_if_index
    ]

    # Restart: nothing rewritten in etcd, neither the values nor the agent's record of them
    # (the restarted agent finds its own values again instead of re-adopting them).
    async def revisions() -> dict[str, int]:
        found = {}
        for prefix in ("/vnf-agent/cnf1/", "/contivpy/vnf-written/"):
            found.update({kv.key: kv.mod_revision for kv in (await store.list(prefix)).items})
        return found

    before = await revisions()
    assert any(key.startswith("/contivpy/vnf-written/") for key in before)
    await node.stop_agent()
    agent = await node.start_agent()
    assert await revisions() == before

    # Delete: every value it wrote goes; the foreign one stays.
    await agent.cni.delete(request)
    left = {kv.key: kv.value for kv in (await store.list("/vnf-agent/cnf1/")).items}
    assert left == {foreign: theirs}


async def test_memif_secrets_stay_out_of_dumps_and_reprs(node: Node) -> None:
    from contivpy.api.rendering import render_json

    agent = node.agent
    assert agent is not None
    annotations = {"contivpp.io/custom-if": "m1/memif", "contivpp.io/microservice-label": "c1"}
    await reflect(node, "cnf", annotations)
    await agent.cni.add(pod_request("cnf"))
    shown = [
        render_json(status.value) + repr(status.value)
        for status in agent.scheduler.statuses()
        if status.value is not None
    ]
    assert any("memif" in text for text in shown)
    leaks = (SECRET, SECRET.encode().hex())  # as text, or inside stored bytes shown as hex
    assert not [text for text in shown if any(leak in text for leak in leaks)]
    assert SECRET not in repr(agent.pods.pods[PodID("default", "cnf")])


async def test_vpp_cli_output_never_shows_a_memif_secret(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VPP's own text may hold a memif's secret: with API tracing on (the packaged
    startup.conf's ``api-trace { on }``), ``api trace dump`` prints each traced
    memif_create_v2 with its fields. The simulator models no API trace, so this VPP answers
    every command with such a dump of the memifs it holds; ``ctl vpp cli`` shows it masked."""
    import contivpy.sim.vpp.handlers.cli as sim_cli
    from contivpy.api.rendering import MASK

    def api_trace_dump(state: VppState, command: str) -> tuple[int, str]:
        memifs = [i.memif for i in state.interfaces.values() if i.memif is not None]
        lines = [f"vl_api_memif_create_v2_t:\n  id: {m.id}\n  secret: {m.secret}" for m in memifs]
        return 0, "\n".join(lines) + "\n"

    monkeypatch.setattr(sim_cli, "run_cli", api_trace_dump)
    agent = node.agent
    assert agent is not None
    await reflect(node, "cnf", {"contivpp.io/custom-if": "m1/memif"})
    await agent.cni.add(pod_request("cnf"))
    assert any(i.memif is not None and i.memif.secret for i in node.sim.state.interfaces.values())
    output = await agent.vpp_cli("api trace dump")
    assert output.ok
    assert f"secret: {MASK}" in output.text
    assert SECRET not in output.text


async def test_annotations_that_arrive_after_the_add_are_wired_once(node: Node) -> None:
    agent = node.agent
    assert agent is not None
    request = pod_request("late")
    result = await agent.cni.add(request)  # not reflected yet: eth0 only
    assert [i.name for i in result.interfaces] == ["eth0"]
    pod = PodID("default", "late")
    await reflect(node, "late", {"contivpp.io/custom-if": "tap1/tap"})
    tap = naming.custom_vpp_tap("tap1", request.container_id)
    await eventually(lambda: tap in by_tag(node.sim.state))
    await agent.loop.wait_idle()
    assert sorted(agent.ipam.custom_ips_of(pod)) == ["tap1"]
    # read once, as an ADD reads them: a later change waits for a new sandbox
    await reflect(node, "late", {"contivpp.io/custom-if": "tap1/tap, tap2/tap"})
    await agent.loop.wait_idle()
    assert [i.name for i in agent.pods.pods[pod].custom] == ["tap1"]
    # and a restart keeps them without a write
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes
    assert sorted(agent.ipam.custom_ips_of(pod)) == ["tap1"]


async def test_a_memif_whose_annotation_arrives_after_the_add_uses_the_grant_it_looked_up(
    node: Node,
) -> None:
    # The kubelet granted the pod its memif devices before the ADD; the annotation asking
    # for the memif reaches the agent only after the ADD began (a reflector behind).
    agent = node.agent
    assert agent is not None
    request = pod_request("late-memif")
    await agent.cni.add(request)
    await reflect(node, "late-memif", {"contivpp.io/custom-if": "m1/memif/stub"})
    memif = naming.custom_memif("m1", request.container_id)
    await eventually(lambda: memif in by_tag(node.sim.state))
    await agent.loop.wait_idle()
    wired = by_tag(node.sim.state)[memif]
    assert wired.memif is not None
    assert node.sim.state.memif_sockets[wired.memif.socket_id] == str(
        node.dir.parent / "late-memif" / "memif.sock"
    )


async def test_a_bad_annotation_that_arrives_late_is_recorded_and_changes_nothing(
    node: Node,
) -> None:
    agent = node.agent
    assert agent is not None
    request = pod_request("late-bad")
    await agent.cni.add(request)
    writes = node.sim.writes()
    await reflect(node, "late-bad", {"contivpp.io/custom-if": "x/warp-drive"})
    await agent.loop.wait_idle()

    def failed() -> list[str]:
        return [
            r.error
            for r in agent.loop.history.records()
            if r.name == "PodCustomIfUpdate" and r.error
        ]

    await eventually(lambda: bool(failed()))
    assert "entry 'x/warp-drive': unknown type 'warp-drive'" in failed()[0]
    assert "after its CNI ADD" in failed()[0]
    assert node.sim.writes() == writes
    assert agent.pods.pods[PodID("default", "late-bad")].custom == ()
    assert agent.ipam.custom_ips_of(PodID("default", "late-bad")) == {}
