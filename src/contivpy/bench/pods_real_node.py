"""One real benchmark node: an embedded etcd and the node agent configuring Linux, against a
real VPP already running in this network namespace.

In: the VPP's API socket and ``Problems``. Out: :func:`real_pods_node`, an async context
manager yielding a :class:`RealPodsNode` with its agent started and steady. The agent is
:class:`~contivpy.agent.node_agent.NodeAgent` built from the configuration file of a real
node in veth mode (:func:`contivpy.vppprocess.real_node.write_agent_config`, loaded as
``contivpy agent --config`` loads it): ``configureLinux`` true, every pod's ``eth0`` a veth
whose host end VPP takes with af_packet, the host interconnect the veth pair ``vpp1``/``vpp2``
in this namespace, VPP's loopback as the main interface. It serves RemoteCNI on
``cni_socket``, as on a node; etcd is tuned as the simulator run's (``pods_node.bench_etcd``).

Before anything is made it checks it may run here (root, ``ip netns``, VPP reachable and in
this namespace, no ``vpp1``/``vpp2`` of another node here) and records VPP's interfaces and
this namespace's links. On exit, also after a failure: the pod namespaces it was given
(``pod_namespaces``) are removed, the agent removes everything it configured (a full resync
to an empty desired state, through its own descriptors), the agent and etcd stop, and VPP's
interfaces and the links must be those recorded before; whatever is left over is a problem,
and removed (links; af_packet and loopback interfaces).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from contivpy.agent.config_file import load_agent_config
from contivpy.agent.node_agent import NodeAgent
from contivpy.bench.pods_node import bench_etcd
from contivpy.bench.verify import Problems
from contivpy.controllers import naming
from contivpy.store.etcd import EtcdStore
from contivpy.vppcalls import af_packet, interfaces, loopback
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.interfaces import InterfaceDetails
from contivpy.vppprocess import real_node
from contivpy.vppprocess.real_node import RealNodeError

NODE_NAME = "bench-real-node"
_VPP_TIMEOUT = 10.0
_UNCONFIGURE_TIMEOUT = 120.0
#: links a node agent makes in its namespace whatever its pods (the host interconnect)
_NODE_LINKS = (naming.HOST_INTERCONNECT_HOST_NAME, naming.HOST_VETH_VPP_HOST_NAME)


@dataclass
class RealPodsNode:
    """The node's parts; ``pod_namespaces``: namespaces made for pods, removed on exit."""

    directory: Path
    vpp_socket: str
    agent: NodeAgent
    pod_namespaces: set[str] = field(default_factory=set)

    @property
    def cni_socket(self) -> str:
        """Where the agent serves RemoteCNI (the CNI plugin's ``grpcServer``)."""
        return str(self.agent.config.paths.cni_socket)

    async def vpp_interfaces(self) -> dict[int, InterfaceDetails]:
        """What VPP holds now, by sw_if_index."""
        return await _dump(self.vpp_socket)


async def _dump(socket_path: str) -> dict[int, InterfaceDetails]:
    client = VppClient(socket_path, call_timeout=30.0)
    await client.start(connect_timeout=_VPP_TIMEOUT)
    try:
        return {i.sw_if_index: i for i in await interfaces.dump_interfaces(client)}
    finally:
        await client.close()


async def _check_vpp_here(socket_path: str) -> None:
    """RealNodeError unless VPP answers at ``socket_path`` and runs in this namespace (its
    af_packet interfaces must see the links the agent makes here)."""
    client = VppClient(socket_path, call_timeout=30.0)
    try:
        await client.start(connect_timeout=_VPP_TIMEOUT)
    except Exception as error:
        raise RealNodeError(f"no VPP answers at {socket_path}: {error}") from error
    try:
        pid = client.pid
    finally:
        await client.close()
    try:
        theirs = os.readlink(f"/proc/{pid}/ns/net")
    except OSError as error:
        raise RealNodeError(f"cannot see VPP's network namespace (pid {pid}): {error}") from error
    if theirs != os.readlink("/proc/self/ns/net"):
        raise RealNodeError(
            f"VPP (pid {pid}) runs in another network namespace: run the benchmark in it "
            "(ip netns exec NAME contivpy bench pods --vpp-socket ...)"
        )


@contextlib.asynccontextmanager
async def real_pods_node(vpp_socket: str, problems: Problems) -> AsyncIterator[RealPodsNode]:
    """The node with its agent steady; everything removed on exit (module docstring)."""
    real_node.check_can_make_namespaces()
    await _check_vpp_here(vpp_socket)
    links_before = real_node.link_names()
    taken = sorted(set(_NODE_LINKS) & links_before)
    if taken:
        raise RealNodeError(
            f"{', '.join(taken)} exist here already (another node's host interconnect?): "
            "run the benchmark in a network namespace of its own, with its VPP"
        )
    vpp_before = await _dump(vpp_socket)
    try:
        with tempfile.TemporaryDirectory(prefix="contivpy-bench-real-") as name:
            directory = Path(name)
            etcd = bench_etcd(directory / "etcd")
            async with etcd:
                path = real_node.write_agent_config(
                    directory / "agent.yaml",
                    node_name=NODE_NAME,
                    directory=directory,
                    vpp_socket=vpp_socket,
                    etcd_endpoints=(etcd.endpoint,),
                )
                config, store_settings = load_agent_config(path)
                async with EtcdStore(store_settings) as store:
                    agent = NodeAgent(config, store)
                    node = RealPodsNode(directory, vpp_socket, agent)
                    try:
                        await agent.start(vpp_timeout=_VPP_TIMEOUT)
                        await agent.wait_ready()
                        await agent.loop.wait_idle()
                        yield node
                    finally:
                        for netns in sorted(node.pod_namespaces):
                            real_node.delete_netns(netns)
                        await _unconfigure(agent, problems)
                        await agent.stop()
    finally:
        await _check_left(vpp_socket, vpp_before, links_before, problems)


async def _unconfigure(agent: NodeAgent, problems: Problems) -> None:
    """The agent removes all it configured in VPP and Linux (an empty desired state)."""
    if not agent.loop.started:
        return  # it never got as far as configuring anything
    try:
        # Bounded: a loop that holds its events for a VPP that stopped answering never idles.
        async with asyncio.timeout(_UNCONFIGURE_TIMEOUT):
            await agent.loop.wait_idle()
            result = await agent.scheduler.resync_full({}, "bench: remove the node's configuration")
    except Exception as error:  # VPP gone, say: the check of what is left still runs
        problems.add(f"removing the node's configuration: {type(error).__name__}: {error}")
        return
    problems.txn("removing the node's configuration", result)


async def _check_left(
    socket_path: str,
    vpp_before: dict[int, InterfaceDetails],
    links_before: set[str],
    problems: Problems,
) -> None:
    """VPP's interfaces and this namespace's links are those before the run; what is left
    over is a problem, and removed."""
    left_links = sorted(real_node.link_names() - links_before)
    if left_links:
        problems.add(f"links left in the node's namespace: {left_links}")
        for link in left_links:
            real_node.ip("link", "del", link, check=False)
    try:
        after = await _dump(socket_path)
    except Exception as error:  # a VPP that stopped answering mid-run: say so, no traceback
        problems.add(f"cannot check what is left in VPP: {type(error).__name__}: {error}")
        return
    left = [i for index, i in sorted(after.items()) if index not in vpp_before]
    if not left:
        return
    problems.add(f"VPP interfaces left: {[f'{i.name} ({i.tag})' for i in left]}")
    client = VppClient(socket_path, call_timeout=30.0)
    await client.start(connect_timeout=_VPP_TIMEOUT)
    try:
        for found in reversed(left):
            with contextlib.suppress(Exception):
                if found.dev_type == "af-packet":
                    await af_packet.delete_af_packet(client, found.name.removeprefix("host-"))
                elif found.dev_type == "Loopback":
                    await loopback.delete_loopback(client, found.sw_if_index)
    finally:
        await client.close()
