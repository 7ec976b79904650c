"""`contivpy ctl pods | nodes | ipam | vpp cli | log-level` and `--wide`, as a user types them,
against node agents on the VPP simulator sharing a real etcd: what each prints is what the
agent wired (the pod's IP and tap, the other node and this node's tunnel to it, the pod
subnet and who holds its IPs, VPP's own view of the pod's tap)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from contivpy.api.ctl import ctl_main
from contivpy.controllers import naming
from contivpy.logs import get_level, set_level
from doubles.agent_nodes import Node, eventually, pod_request

CONTIVPY = str(Path(sys.executable).with_name("contivpy"))


async def ctl(node: Node, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await ctl_main(["--socket", str(node.dir / "debug.sock"), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def contivpy_ctl(node: Node, *args: str) -> tuple[int | None, str, str]:
    """`contivpy ctl --socket SOCKET ARGS...` through the installed entry point."""
    proc = await asyncio.create_subprocess_exec(
        CONTIVPY,
        "ctl",
        "--socket",
        str(node.dir / "debug.sock"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_pods_nodes_and_ipam_show_what_the_agents_wired(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent1 = await one.start_agent()
    agent2 = await two.start_agent()
    await eventually(lambda: bool(agent1.nodesync.others()) and bool(agent2.nodesync.others()))
    await agent1.loop.wait_idle()
    # a container ID as long as containerd's: the tap's name is 63 characters
    web = pod_request("web", namespace="shop", container="6b327b8acb485e64" * 4)
    ip = (await agent1.cni.add(web)).ips[0].address.split("/")[0]
    tap = naming.pod_vpp_tap(web.container_id)
    vpp_tap = next(i for i in one.sim.state.interfaces.values() if i.tag == tap)

    code, out, err = await contivpy_ctl(one, "pods", "--wide")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[:4] == ["POD", "NODE", "IP", "IF"]
    assert row.split() == [
        "shop/web",
        "node-1",
        ip,
        "eth0",
        "tap",
        tap,
        str(vpp_tap.sw_if_index),
        vpp_tap.name,
        "configured",
    ]
    # without --wide the long VPP interface name is cut; the JSON has it whole
    _, cut, _ = await ctl(one, "pods")
    assert tap not in cut
    assert tap[:50] in cut
    assert "…" in cut
    code, out, _ = await ctl(one, "pods", "--json")
    (pod,) = [json.loads(line) for line in out.splitlines()]
    assert (pod["namespace"], pod["name"], pod["ips"]) == ("shop", "web", [ip])
    assert pod["interfaces"][0]["name"] == tap
    assert pod["interfaces"][0]["sw_if_index"] == vpp_tap.sw_if_index

    code, out, err = await contivpy_ctl(one, "nodes")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "node-1 (this node)" in rows["1"]
    peer = rows["2"].split()
    node2_ip = agent2.ipam.addresses.node_address
    assert peer[1] == "node-2"
    assert naming.vxlan_tunnel(2) in peer  # this node's tunnel to node 2 ...
    assert str(node2_ip) in peer  # ... ends at node 2's VPP address
    assert "10.1.2.0/24" in peer
    assert peer[-1] == "configured"

    code, out, err = await ctl(one, "ipam")
    assert code == 0, err
    assert "pod subnet         10.1.1.0/24" in out
    assert "pod gateway        10.1.1.1" in out
    assert "VRFs               main 0, pods 1" in out
    allocation = next(line for line in out.splitlines() if line.startswith(ip))
    assert allocation.split() == [ip, "shop/web", "(main)", "default"]
    code, out, _ = await ctl(one, "--json", "ipam")
    ipam = json.loads(out)
    assert ipam["node_id"] == 1
    assert ipam["config"]["podSubnetCIDR"] == "10.1.0.0/16"
    assert ipam["allocations"] == [
        {"ip": ip, "pod": "shop/web", "interface": "", "network": "default"}
    ]

    # the pod goes: it is gone from pods and its IP from the allocations
    await agent1.cni.delete(web)
    _, out, _ = await ctl(one, "pods")
    assert out.strip() == "(no pods wired on this node)"


async def test_vpp_cli_passes_through_to_vpp(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    web = pod_request("web")
    await agent.cni.add(web)
    vpp_tap = next(
        i
        for i in node.sim.state.interfaces.values()
        if i.tag == naming.pod_vpp_tap(web.container_id)
    )

    code, out, err = await contivpy_ctl(node, "vpp", "cli", "show interface")
    assert code == 0, err
    assert out == node.sim.cli("show interface")  # VPP's text, as vppctl prints it
    assert any(
        line.split()[:3] == [vpp_tap.name, str(vpp_tap.sw_if_index), "up"]
        for line in out.splitlines()
    )
    code, out, _ = await ctl(node, "vpp", "cli", "sh", "int", "addr")  # unquoted words too
    assert code == 0
    assert f"{vpp_tap.name} (up):\n  unnumbered, use loop" in out
    code, out, _ = await ctl(node, "--json", "vpp", "cli", "show version")
    assert json.loads(out)["output"].startswith("vpp v26.06")

    # what VPP cannot parse: VPP's own words on stderr, exit 1
    code, out, err = await contivpy_ctl(node, "vpp", "cli", "show nonsense")
    assert (code, out) == (1, "")
    assert err.strip() == "contivpy ctl: VPP: show: unknown input `nonsense'"
    # no command at all is a usage error
    code, _, err = await contivpy_ctl(node, "vpp", "cli")
    assert code == 2
    assert "COMMAND" in err


async def test_log_level_changes_at_run_time_and_a_bad_one_is_a_usage_error(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    await node.start_agent()
    before = get_level()
    try:
        code, out, err = await contivpy_ctl(node, "log-level", "debug")
        assert code == 0, err
        assert out.strip() == f"log level debug (was {before})"
        assert get_level() == "debug"  # the agent runs in this process
        assert logging.getLogger().isEnabledFor(logging.DEBUG)
        code, out, _ = await ctl(node, "log-level", "warning", "--json")
        assert json.loads(out) == {"previous": "debug", "level": "warning"}
        assert not logging.getLogger().isEnabledFor(logging.INFO)

        code, out, err = await contivpy_ctl(node, "log-level", "bogus")
        assert code == 2
        assert "argument LEVEL: invalid choice: 'bogus'" in err
        assert "Traceback" not in err
        assert get_level() == "warning"  # unchanged
    finally:
        set_level(before)


README = Path(__file__).resolve().parents[2] / "README.md"
PRINTED_PATH = "<printed path>"


def readme_ctl_lines() -> list[str]:
    """Every `contivpy ctl --socket <printed path>/debug.sock ...` line README shows."""
    return [
        line.strip()
        for line in README.read_text().splitlines()
        if line.startswith(".venv/bin/contivpy ctl --socket <printed path>/")
    ]


async def test_every_ctl_line_of_the_readme_works_as_typed(
    make_node: Callable[[str], Awaitable[Node]], tmp_path: Path
) -> None:
    """README's lines through a shell, the demo's printed path put in, from a directory
    where `.venv/bin/contivpy` is the installed entry point."""
    lines = readme_ctl_lines()
    assert {"pods", "nodes", "ipam", "vpp", "log-level"} <= {line.split()[5] for line in lines}
    node = await make_node("n1")
    agent = await node.start_agent()
    await agent.cni.add(pod_request("web"))
    workdir = tmp_path / "cwd"
    (workdir / ".venv" / "bin").mkdir(parents=True)
    (workdir / ".venv" / "bin" / "contivpy").symlink_to(CONTIVPY)
    before = get_level()
    try:
        for line in lines:
            shell = await asyncio.create_subprocess_shell(
                line.replace(PRINTED_PATH, str(node.dir)),
                cwd=workdir,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await shell.communicate()
            assert shell.returncode == 0, (line, err.decode())
            assert out.strip() or ">" in line, line
    finally:
        set_level(before)
    assert (workdir / "graph.dot").read_text().startswith("digraph")
