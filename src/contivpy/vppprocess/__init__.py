"""A real VPP as a process of ours: its start-up configuration, start, stop and restart.

For the demo on real VPPs, the real-node tests and ``make test-vpp``; in production VPP is
started by its own service and contivpy only connects to its socket.
"""
