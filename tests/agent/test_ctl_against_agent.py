"""`contivpy ctl` against a running node agent's debug socket: what an operator sees."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from contivpy.api.ctl import ctl_main
from contivpy.controllers import naming
from doubles.agent_nodes import Node, pod_request


async def ctl(node: Node, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await ctl_main(["--socket", str(node.dir / "debug.sock"), *args], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


CONTIVPY = str(Path(sys.executable).with_name("contivpy"))


async def contivpy_ctl(socket: str, *args: str) -> tuple[int | None, bytes, bytes]:
    """`contivpy ctl --socket SOCKET ARGS...` through the installed entry point."""
    proc = await asyncio.create_subprocess_exec(
        CONTIVPY,
        "ctl",
        "--socket",
        socket,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, out, err


async def test_an_operator_sees_the_agent_and_its_pods(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    request = pod_request("web")
    await agent.cni.add(request)
    code, text = await ctl(node, "status")
    assert code == 0, text
    assert "n1" in text
    tap_key = "config/vpp/v2/interfaces/" + naming.pod_vpp_tap(request.container_id)
    code, text = await ctl(
        node, "--json", "dump", "--view", "southbound", "config/vpp/v2/interfaces/"
    )
    assert code == 0, text
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert tap_key in {e["key"] for e in entries}
    code, text = await ctl(node, "events")
    assert code == 0, text
    assert "AddPod" in text
    assert "DBResync" in text
    code, text = await ctl(node, "plan", "--downstream")
    assert code == 0, text
    code, text = await ctl(node, "timeline", tap_key)
    assert code == 0, text
    assert "configured" in text


async def test_the_readme_ctl_commands_work_as_typed(
    make_node: Callable[[str], Awaitable[Node]], tmp_path: Path
) -> None:
    """README's `contivpy ctl --socket <path>/debug.sock ...` lines, through the installed
    entry point (the global option before the subcommand used to be refused)."""
    node = await make_node("n1")
    agent = await node.start_agent()
    await agent.cni.add(pod_request("web"))
    socket = str(node.dir / "debug.sock")
    for args in (
        ("status",),
        ("dump", "--view", "southbound"),
        ("events",),
        ("graph",),
    ):
        code, out, err = await contivpy_ctl(socket, *args)
        assert code == 0, (args, err.decode())
        assert out.strip(), args
    assert b"digraph" in out  # the graph, as README redirects it to graph.dot
    code, _, err = await contivpy_ctl(str(tmp_path / "none.sock"), "status")
    assert code == 2
    assert b"cannot reach the agent" in err


async def test_not_found_exits_1_and_a_closed_pipe_ends_quietly(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    await agent.cni.add(pod_request("web"))
    socket = str(node.dir / "debug.sock")
    for args, said in (
        (("txns", "--seq", "9999"), b"no transaction 9999 is kept"),
        (("timeline", "config/vpp/v2/interfaces/nothing"), b"no history of key"),
    ):
        code, out, err = await contivpy_ctl(socket, *args)
        assert code == 1, (args, out, err)
        assert said in err
    # `contivpy ctl graph | head -1`: the reader leaves after one line, while ctl still has
    # more to write than a pipe holds (so its next write meets the closed pipe)
    for index in range(100):
        await agent.cni.add(pod_request(f"pod-{index}"))
    _, graph, _ = await contivpy_ctl(socket, "graph")
    assert len(graph) > 2 * 65536
    shell = await asyncio.create_subprocess_shell(
        f"'{CONTIVPY}' ctl --socket '{socket}' graph | head -1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await shell.communicate()
    assert out.startswith(b"digraph")
    assert b"Broken pipe" not in err
    assert b"Traceback" not in err
    assert b"cannot reach" not in err
