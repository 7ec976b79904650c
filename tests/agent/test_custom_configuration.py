"""CustomConfiguration items for this node's vswitch, applied by the node agent: what VPP
holds for them, that items for other targets and bad items are left out without disturbing
the rest, and that removing the object removes exactly its values (real etcd, VPP simulator)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contivpy.models.k8s_codec import ConfigItem, CustomConfiguration, encode, key_for
from contivpy.sim.vpp.model import Interface, Kind
from doubles.agent_nodes import Node, eventually


def loopback(name: str) -> ConfigItem:
    return ConfigItem(
        module="vpp",
        version="v2",
        type="interfaces",
        name=name,
        data=f"name: {name}\ntype: SOFTWARE_LOOPBACK\nenabled: true\n",
    )


def xconnect(rx: str, tx: str) -> ConfigItem:
    return ConfigItem(
        module="vpp.l2",
        version="v2",
        type="xconnect",
        name=rx,
        data=f"receive_interface: {rx}\ntransmit_interface: {tx}\n",
    )


async def put(node: Node, model: CustomConfiguration) -> None:
    key = node.prefix + key_for("customconfiguration", model.name, model.namespace)
    await node.store.put(key, encode(model))


def tags(node: Node) -> dict[str, Interface]:
    return {i.tag: i for i in node.sim.state.interfaces.values() if i.tag}


async def test_items_for_this_vswitch_are_applied_and_removed_with_their_object(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    items = [
        loopback("cc-a"),
        loopback("cc-b"),
        xconnect("cc-a", "cc-b"),
        xconnect("cc-b", "cc-a"),
        ConfigItem(  # an item for a CNF: its own agent's, not the vswitch's
            microservice="cnf1",
            module="vpp",
            version="v2",
            type="interfaces",
            name="cnf-only",
            data="name: cnf-only\ntype: SOFTWARE_LOOPBACK\n",
        ),
        ConfigItem(module="vpp", version="v2", type="warp-drive", name="x", data="a: 1"),
        ConfigItem(module="vpp", version="v2", type="interfaces", name="y", data="[not: yaml"),
    ]
    model = CustomConfiguration(
        name="xc", namespace="default", microservice="n1", config_items=items
    )
    await put(node, model)
    await eventually(lambda: "cc-b" in tags(node))
    await agent.loop.wait_idle()
    found = tags(node)
    assert found["cc-a"].kind is Kind.LOOPBACK
    assert "cnf-only" not in found
    a, b = found["cc-a"], found["cc-b"]
    assert a.xconnect_to == b.sw_if_index
    assert b.xconnect_to == a.sw_if_index

    # An agent restart rewrites nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes

    # Dropping an item removes its value only; deleting the object removes the rest.
    await put(
        node,
        CustomConfiguration(
            name="xc", namespace="default", microservice="n1", config_items=items[:2]
        ),
    )
    await eventually(lambda: tags(node)["cc-a"].xconnect_to is None)
    assert {"cc-a", "cc-b"} <= set(tags(node))
    await node.store.delete(node.prefix + key_for("customconfiguration", "xc", "default"))
    await eventually(lambda: "cc-a" not in tags(node) and "cc-b" not in tags(node))
