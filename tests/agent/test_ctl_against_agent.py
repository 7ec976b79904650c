"""`contivpy ctl` against a running node agent's debug socket: what an operator sees."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable

from contivpy.api.ctl import ctl_main
from contivpy.controllers import naming
from doubles.agent_nodes import Node, pod_request


async def ctl(node: Node, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await ctl_main(["--socket", str(node.dir / "debug.sock"), *args], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


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
