"""A stand-in for the ``vpp`` binary in the launcher tests: reads ``-c <startup.conf>`` as VPP
does, finds ``socksvr { socket-name … }`` and serves the VPP simulator there until killed.

Usage: fake_vpp.py -c <startup.conf>
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from contivpy.sim.vpp.runner import run_vppsim

if __name__ == "__main__":
    config = Path(sys.argv[sys.argv.index("-c") + 1]).read_text()
    found = re.search(r"socksvr\s*\{\s*socket-name\s+(\S+)", config)
    if found is None:
        print("fake vpp: no socksvr socket-name in the configuration", file=sys.stderr)
        sys.exit(1)
    sys.exit(run_vppsim(found.group(1), None, vhost_net=True))
