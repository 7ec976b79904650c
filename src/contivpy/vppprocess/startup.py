"""VPP's start-up configuration (``startup.conf``) for a VPP that contivpy runs itself.

In: :class:`StartupConfig` (a working directory for every socket, log and segment, memory
sizes, which plugins to load). Out: the text VPP reads with ``-c``.

Made for machines without DPDK or hugepages (4 KiB pages throughout): contivpy's pods use
af_packet (veth), tap or memif interfaces, and the VXLAN underlay an af_packet on a Linux link.
The statistics segment grows with interfaces: VPP aborts when it is full (seen near 6,750
interfaces with 32 MiB), so a node with many pods needs ``stats_segment_mb`` raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: the plugins contivpy drives (VPP's plugin file names); everything else stays unloaded
DEFAULT_PLUGINS: tuple[str, ...] = (
    "af_packet_plugin.so",
    "memif_plugin.so",
    "vxlan_plugin.so",
    "tap_plugin.so",
    "ping_plugin.so",
    "nat_plugin.so",
    "acl_plugin.so",
)


@dataclass(frozen=True)
class StartupConfig:
    """Where a VPP keeps its files and how large it may grow."""

    workdir: Path
    main_heap_mb: int = 512
    stats_segment_mb: int = 128
    buffers: int = 16_384
    #: VPP's main loop sleeps this long when it has nothing to do; 0 polls without rest and
    #: takes a whole core (right for a node and for throughput figures; a development
    #: machine running several VPPs beside the agents and tests needs the rest)
    poll_sleep_usec: int = 100
    plugins: Sequence[str] = DEFAULT_PLUGINS

    @property
    def api_socket(self) -> Path:
        """The binary-API socket contivpy connects to."""
        return self.workdir / "api.sock"

    @property
    def cli_socket(self) -> Path:
        """vppctl's socket (``vppctl -s <path>``)."""
        return self.workdir / "cli.sock"

    @property
    def log_file(self) -> Path:
        return self.workdir / "vpp.log"

    @property
    def config_file(self) -> Path:
        return self.workdir / "startup.conf"

    def render(self) -> str:
        """The startup.conf text."""
        d = self.workdir
        plugins = "\n".join(f"  plugin {name} {{ enable }}" for name in self.plugins)
        # The shared-memory API segment is named after a prefix: two VPPs on one machine
        # need different ones.
        prefix = "contivpy-" + "-".join(d.resolve().parts[1:])[-60:].replace(".", "_")
        return f"""unix {{
  nodaemon
  runtime-dir {d}
  cli-listen {self.cli_socket}
  log {self.log_file}
  full-coredump
  poll-sleep-usec {self.poll_sleep_usec}
}}
socksvr {{ socket-name {self.api_socket} }}
api-segment {{ prefix {prefix} }}
statseg {{
  socket-name {d / "stats.sock"}
  size {self.stats_segment_mb}M
  page-size 4K
}}
memory {{
  main-heap-size {self.main_heap_mb}M
  main-heap-page-size 4K
}}
buffers {{
  buffers-per-numa {self.buffers}
  page-size 4K
}}
plugins {{
  plugin default {{ disable }}
{plugins}
}}
"""
