"""Benchmarks of contivpy's own machinery, run by ``contivpy bench <suite>``.

In: a suite name and options from the CLI. Out: measured figures next to their targets, as a
table or JSON lines (``runner.run_bench``), printed by ``report``.

- ``scheduler``: everything in memory: an in-memory southbound (``southbound``) shaped like
  VPP's, descriptors over it (``descriptors``), desired states built by ``workload``, measured
  by ``scenarios``, assembled into the suite by ``scheduler_suite``, checked for correctness
  by ``verify``;
- ``vpp``: the real VPP descriptors and client against the VPP simulator in this process
  (``vpp_scenarios``, assembled by ``vpp_suite``), API requests counted by ``call_counter``.
"""
