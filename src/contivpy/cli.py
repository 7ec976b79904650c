"""The ``contivpy`` command: the composition root.

In: argv. Out: one sub-command run to completion (or until interrupted). Wiring of settings,
stores, VPP clients, scheduler and descriptors happens here and nowhere else. Long-running
commands run on uvloop.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from contivpy.logs import configure_logging

Handler = Callable[[argparse.Namespace], int]


def _bench(args: argparse.Namespace) -> int:
    from contivpy.bench.runner import run_bench

    return run_bench(args.suite, as_json=args.json, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="contivpy", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    parser.add_argument(
        "--log-json", action="store_true", default=None, help="JSON logs even on a terminal"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument("suite", choices=["scheduler"], help="which benchmark")
    bench.add_argument("--json", action="store_true", help="one JSON object per metric line")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contivpy`` console script."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, json=args.log_json)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
