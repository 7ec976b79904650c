"""Benchmarks of contivpy's own machinery, run by ``contivpy bench <suite>``.

In: a suite name and options from the CLI. Out: measured figures next to their targets, as a
table or JSON lines (``runner.run_bench``), printed by ``report``.

- ``scheduler``: the scheduler with the agent's VPP descriptors against the VPP simulator in
  this process, without a socket (``sim_channel``), desired states built by ``workload``,
  measured by ``scenarios``, assembled into the suite by ``scheduler_suite``, checked for
  correctness by ``verify`` and ``sim_check``; ``southbound`` is the in-memory southbound the
  scheduler's own tests run on;
- ``vpp``: the real VPP descriptors and client against the VPP simulator in this process
  (``vpp_scenarios``, assembled by ``vpp_suite``), API requests counted by ``call_counter``.
"""
