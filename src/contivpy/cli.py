"""The ``contivpy`` command: the composition root.

In: argv. Out: one sub-command run to completion (or until interrupted). Wiring of settings,
stores, VPP clients, scheduler and descriptors happens here and nowhere else. Long-running
commands run on uvloop.
"""

from __future__ import annotations

import os
import sys

# Not typing.TYPE_CHECKING: importing typing (or collections.abc) costs the exec'd CNI plugin,
# which starts here, several ms per pod; type checkers treat any TYPE_CHECKING as theirs.
TYPE_CHECKING = False
if TYPE_CHECKING:  # imported where the parser is built: `contivpy cni` starts without them
    import argparse
    from collections.abc import Callable, Sequence

    Handler = Callable[[argparse.Namespace], int]


def _bench(args: argparse.Namespace) -> int:
    from contivpy.bench.runner import run_bench

    return run_bench(args.suite, as_json=args.json, quick=args.quick, vpp_socket=args.vpp_socket)


def _vppsim(args: argparse.Namespace) -> int:
    from contivpy.sim.vpp.runner import run_vppsim

    return run_vppsim(args.socket, args.control, vhost_net=not args.no_vhost_net)


def _vpp(args: argparse.Namespace) -> int:
    from contivpy.vppprocess.command import run_vpp_command

    return run_vpp_command(
        args.action,
        args.workdir,
        binary=args.binary,
        netns=args.netns,
        stats_segment_mb=args.stats_segment_mb,
        poll_sleep_usec=args.poll_sleep_usec,
    )


def _sim_kube_serve(args: argparse.Namespace) -> int:
    from contivpy.sim.kube.cni_runner import CniSettings, bin_dirs
    from contivpy.sim.kube.commands import run_kube_server

    cni = CniSettings(args.cni_conf_dir, bin_dirs(args.cni_bin_dir), args.netns_dir)
    return run_kube_server(
        host=args.host,
        port=args.port,
        kubeconfig=args.kubeconfig,
        manifests=tuple(args.manifest or ()),
        nodes=args.nodes,
        advertise_url=args.advertise_url,
        cni_node=args.cni_node,
        cni=cni,
    )


def _sim_kube_apply(args: argparse.Namespace) -> int:
    from contivpy.sim.kube.commands import run_kube_apply

    return run_kube_apply(
        args.filename, server_url=args.server, kubeconfig=args.kubeconfig, namespace=args.namespace
    )


def _demo(args: argparse.Namespace) -> int:
    from contivpy.demo.command import run_demo

    return run_demo(
        scenario=args.scenario,
        nodes=args.nodes,
        keep=args.keep,
        manifests=tuple(args.manifest or ()),
        workdir=args.workdir,
        vpp=args.vpp,
        etcd_timeout=args.etcd_timeout,
    )


def _demo_nodes(text: str) -> int:
    """--nodes: 1..200 (node addresses are the node's index in one /24)."""
    try:
        count = int(text)
    except ValueError:
        raise _argument_error(f"{text!r} is not a whole number") from None
    if not 1 <= count <= 200:
        raise _argument_error(f"{count}: a demo cluster has 1 to 200 nodes")
    return count


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise _argument_error(f"{text!r} is not a number of seconds") from None
    if not seconds > 0:
        raise _argument_error(f"{text}: must be more than 0 seconds")
    return seconds


def _argument_error(message: str) -> Exception:
    import argparse

    return argparse.ArgumentTypeError(message)


def _reflector(args: argparse.Namespace) -> int:
    from contivpy.reflector.command import run_reflector_command

    return run_reflector_command(
        kubeconfig=args.kubeconfig,
        etcd=args.etcd,
        prefix=args.prefix,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        election_ttl=args.election_ttl,
        kube_context=args.context,
    )


def _agent(args: argparse.Namespace) -> int:
    from contivpy.agent.command import run_agent_command

    endpoints = tuple(e for e in (args.etcd or "").split(",") if e)
    return run_agent_command(args.config, node_name=args.node_name, endpoints=endpoints)


def _cnf(args: argparse.Namespace) -> int:
    from contivpy.cnf.command import run_cnf_command

    return run_cnf_command(
        label=args.label, vpp_socket=args.vpp_socket, etcd=args.etcd, prefix=args.etcd_prefix
    )


def _ctl(args: argparse.Namespace) -> int:
    from contivpy.api.ctl import run_ctl

    return run_ctl(args.rest)


def _cni(args: argparse.Namespace) -> int:
    from contivpy.cni.plugin import main as run_plugin

    return run_plugin()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    import argparse
    from pathlib import Path

    from contivpy import cni_install

    parser = argparse.ArgumentParser(
        prog="contivpy", description="contivpy: Kubernetes pod networking on FD.io VPP"
    )
    parser.add_argument(
        "--log-level",
        default=None,
        type=str.lower,
        choices=LOG_LEVELS,
        help="debug, info, warning, error (default info; demo: warning)",
    )
    parser.add_argument(
        "--log-json", action="store_true", default=None, help="JSON logs even on a terminal"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument(
        "suite",
        choices=["scheduler", "vpp", "pods", "eventlog", "sfc", "services"],
        help="which benchmark",
    )
    bench.add_argument("--json", action="store_true", help="one JSON object per metric line")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    bench.add_argument(
        "--vpp-socket",
        help="vpp and pods suites: measure against the real VPP on this API socket (pods: "
        "root, VPP in this network namespace)",
    )
    bench.set_defaults(handler=_bench)

    vppsim = sub.add_parser("vppsim", help="run the VPP simulator on a unix socket")
    vppsim.add_argument("--socket", required=True, help="API socket path (VPP's api.sock)")
    vppsim.add_argument("--control", help="control socket path (fault injection, show)")
    vppsim.add_argument(
        "--no-vhost-net", action="store_true", help="simulate a kernel without /dev/vhost-net"
    )
    vppsim.set_defaults(handler=_vppsim)

    vpp = sub.add_parser("vpp", help="start, stop or restart a real VPP of ours (dev, tests)")
    vpp.add_argument("action", choices=["start", "stop", "restart"])
    vpp.add_argument("--workdir", type=Path, required=True, help="sockets, log, config, pid")
    vpp.add_argument("--binary", type=Path, help="the vpp binary (default $CONTIVPY_VPP_BINARY)")
    vpp.add_argument("--netns", help="run VPP inside this network namespace")
    vpp.add_argument(
        "--stats-segment-mb", type=int, default=128, help="statistics segment size (MiB)"
    )
    vpp.add_argument(
        "--poll-sleep-usec",
        type=int,
        default=100,
        help="idle sleep of VPP's main loop (0: poll without rest, a whole core; benchmarks)",
    )
    vpp.set_defaults(handler=_vpp)

    from contivpy.demo.scenario_list import SCENARIOS

    demo = sub.add_parser("demo", help="the whole system on this machine, with example pods")
    demo.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        default="pods",
        help="what to deploy and show: "
        + "; ".join(f"{s.name}: {s.about}" for s in SCENARIOS.values())
        + " (default pods)",
    )
    demo.add_argument(
        "--nodes",
        type=_demo_nodes,
        help="how many nodes (default: the scenario's: 2, the sfc-* ones 1 as their seed)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep running for contivpy ctl (until Ctrl-C); keeps the working directory",
    )
    demo.add_argument("-f", "--manifest", action="append", type=Path, help="manifests to apply")
    demo.add_argument(
        "--workdir",
        type=Path,
        help="where etcd, sockets and state go, kept afterwards (default: a temporary "
        "directory, removed on exit)",
    )
    demo.add_argument(
        "--etcd-timeout",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="the longest the embedded etcd may take to start while it makes progress "
        "(default 120; one making no progress for 30 s fails sooner)",
    )
    demo.add_argument(
        "--vpp", type=Path, help="a vpp binary: run the nodes on real VPPs (needs root)"
    )
    demo.set_defaults(handler=_demo)

    reflector = sub.add_parser("reflector", help="mirror Kubernetes into etcd (leader-elected)")
    reflector.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: in-cluster)")
    reflector.add_argument("--context", help="a kubeconfig context other than the current one")
    reflector.add_argument("--etcd", help="etcd endpoints, comma-separated (default: embedded)")
    reflector.add_argument("--prefix", default="/vnf-agent/contiv-ksr/", help="etcd key prefix")
    reflector.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here")
    reflector.add_argument(
        "--metrics-address",
        default="127.0.0.1",
        metavar="HOST",
        help="the address the metrics are served on (default 127.0.0.1; 0.0.0.0: every one)",
    )
    reflector.add_argument("--election-ttl", type=int, default=10, help="leader lease seconds")
    reflector.set_defaults(handler=_reflector)

    agent = sub.add_parser("agent", help="run the node agent (until SIGINT/SIGTERM)")
    agent.add_argument("--config", type=Path, help="agent configuration file (YAML)")
    agent.add_argument("--node-name", default="", help="this node's Kubernetes name")
    agent.add_argument("--etcd", help="etcd endpoints, comma-separated (default: embedded)")
    agent.set_defaults(handler=_agent)

    cnf = sub.add_parser("cnf", help="configure a CNF's own VPP from /vnf-agent/<label>/config/")
    cnf.add_argument("--label", required=True, help="the pod's contivpp.io/microservice-label")
    cnf.add_argument("--vpp-socket", required=True, help="the CNF VPP's API socket")
    cnf.add_argument("--etcd", default="127.0.0.1:2379", help="etcd endpoints, comma-separated")
    cnf.add_argument("--etcd-prefix", default="", help="key prefix of the store (default none)")
    cnf.set_defaults(handler=_cnf)

    ctl = sub.add_parser("ctl", add_help=False, help="inspect and drive an agent (debug API)")
    ctl.add_argument("rest", nargs=argparse.REMAINDER)
    ctl.set_defaults(handler=_ctl)

    cni = sub.add_parser("cni", help="the CNI plugin (run by the kubelet; env + stdin)")
    cni.set_defaults(handler=_cni)
    install_cni = sub.add_parser(
        "install-cni", help="install the CNI plugin where the kubelet execs it (a node's step)"
    )
    cni_install.add_arguments(install_cni)
    install_cni.set_defaults(handler=cni_install.run)

    sim = sub.add_parser("sim", help="stand-ins for development and tests")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    kube = sim_sub.add_parser("kube", help="the Kubernetes API stand-in")
    kube_sub = kube.add_subparsers(dest="kube_command", required=True)
    serve = kube_sub.add_parser("serve", help="serve the Kubernetes API stand-in")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument(
        "--kubeconfig", type=Path, help="write a kubeconfig pointing at the server here"
    )
    serve.add_argument(
        "-f", "--manifest", action="append", type=Path, help="apply this manifest at start"
    )
    serve.add_argument("--nodes", type=int, default=0, help="register N simulated nodes")
    serve.add_argument(
        "--advertise-url",
        metavar="URL",
        help="the server URL the kubeconfig names (default: the one it listens on)",
    )
    serve.add_argument(
        "--cni-node",
        metavar="NODE",
        help="this simulated node's kubelet runs the real CNI plugins (--cni-conf-dir...)",
    )
    serve.add_argument("--cni-conf-dir", type=Path, default=Path("/etc/cni/net.d"), metavar="DIR")
    serve.add_argument(
        "--cni-bin-dir",
        default="/opt/cni/bin",
        metavar="DIRS",
        help="plugin directories, colon-separated",
    )
    serve.add_argument(
        "--netns-dir",
        type=Path,
        default=Path("/var/run/netns"),
        metavar="DIR",
        help="where the --cni-node's pod sandboxes' netns files are made",
    )
    serve.set_defaults(handler=_sim_kube_serve)
    apply = kube_sub.add_parser("apply", help="apply YAML manifests to a running stand-in")
    apply.add_argument("-f", "--filename", action="append", type=Path, required=True)
    apply.add_argument("--server", help="server URL (else from --kubeconfig)")
    apply.add_argument("--kubeconfig", type=Path)
    apply.add_argument("-n", "--namespace", default="default")
    apply.set_defaults(handler=_sim_kube_apply)
    return parser


#: what --log-level takes (a usage error otherwise, not a traceback at logging set-up)
LOG_LEVELS = ("debug", "info", "warning", "error")

#: the top-level options that take a value (so their value is not taken for a subcommand)
_TOP_VALUE_OPTIONS = ("--log-level",)


def _split_ctl(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """(the top-level arguments up to and including "ctl", ctl's arguments) when the
    subcommand is ctl, else None."""
    for index, token in enumerate(argv):
        if token == "ctl":
            return argv[: index + 1], argv[index + 1 :]
        after_value_option = index > 0 and argv[index - 1] in _TOP_VALUE_OPTIONS
        if not token.startswith("-") and not after_value_option:
            return None  # another subcommand
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contivpy`` console script."""
    if list(sys.argv[1:] if argv is None else argv) == ["cni"]:
        # The kubelet execs the plugin once per pod: it goes straight to the plugin, without
        # the parser or logging set-up (its stdout is the CNI result; it logs nothing).
        from contivpy.cni.plugin import main as run_plugin

        code = run_plugin()
        if argv is None:  # the process is the plugin's own (the console script)
            # The result is flushed; the interpreter's teardown of what the call imported
            # would cost the kubelet another ~10-20 ms per pod, for nothing.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    from contivpy.logs import configure_logging

    given = list(sys.argv[1:] if argv is None else argv)
    split = _split_ctl(given)
    if split is not None:
        # ctl's own parser takes everything after "ctl" (its --socket, --address, --json...):
        # argparse's REMAINDER would refuse a first argument that starts with "--".
        top, rest = split
        args = build_parser().parse_args(top)
        args.rest = rest
    else:
        args = build_parser().parse_args(given)
    if args.command == "cni":
        # stdout carries the CNI result: logs go to stderr as JSON, quietly.
        configure_logging("warning", json=True)
    else:
        default = "warning" if args.command == "demo" else "info"
        configure_logging(args.log_level or default, json=args.log_json)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
