"""Scheduler descriptors for VPP: how each kind of VPP value is validated, ordered, applied
and read back.

In: desired values from ``contivpy.models`` under the keys of ``contivpy.models.vpp_keys``.
Out: calls through ``contivpy.vppcalls`` (create, update, delete), what VPP really has
(retrieve), and for each value its dependencies and derived values. The scheduler drives them;
they never call each other — a descriptor needing another's index (a sw_if_index, a bd_id)
reads the scheduler's metadata through ``indexes``.

Modules: ``registration`` (``register_vpp_descriptors``), ``base`` (shared by all),
``indexes`` (name <-> VPP index, metadata types), ``value_checks`` (validation helpers);
per kind: ``interface`` (with ``interface_validation``, ``interface_kinds``,
``interface_dump``), ``interface_address``, ``interface_vrf``, ``unnumbered``, ``vrf_table``,
``route`` (with ``route_checks``), ``arp``, ``proxy_arp``, ``bridge_domain``, ``bd_member``,
``l2fib``, ``xconnect``.
"""
