"""The Linux side of the pod wiring: network namespaces, veth pairs, addresses, routes, ARP.

In: Linux values put by controllers (``models``, under ``keys``). Out: the kernel configured
through netlink. Modules:

- ``netlink`` — the async netlink client (the only module that imports pyroute2), with its
  typed vocabulary in ``netlink_types`` and its error tree in ``errors``;
- ``models``, ``keys`` — values and their keys in vpp-agent's layout;
- ``descriptors`` — the scheduler's adapters, one per kind; ``registration`` registers them;
- ``icmp_echo`` — an ICMP echo (ping) of our own on raw sockets, from inside a namespace.
"""
