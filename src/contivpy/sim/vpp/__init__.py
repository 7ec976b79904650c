"""A simulated VPP 26.06: its binary API on a unix socket, and the state behind it.

In: clients of VPP's socket API (unmodified vpp_papi, contivpy's vppcalls), control requests.
Out: VPP's answers, from a state model that behaves like VPP where a control plane can tell.

Modules: ``server`` (the protocol, :class:`~contivpy.sim.vpp.server.VppSimulator`),
``session`` (one client connection), ``state`` and ``model`` (what VPP holds), ``handlers``
(what each request does), ``fib_entries`` (each FIB table's entries with their sources, as
route dumps show them), ``fib_view`` (fib_path on the wire, the walk's view of routes),
``faults`` (injected failures and
latency), ``control`` (JSON-lines control socket), ``show`` (vppctl-style text), ``runner``
(``serve_vppsim`` / ``run_vppsim`` for ``contivpy vppsim``), ``memif_links`` (memif
connections between the simulators of one process), ``forwarding*`` (the packet walk over a
``Fabric`` of simulators, across VXLAN and memif links).
"""
