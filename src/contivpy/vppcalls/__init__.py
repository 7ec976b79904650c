"""contivpy's VPP binary-API client: the wire format, one pipelined connection, a
self-healing client, and typed calls per domain.

In: a VPP's API socket. Out: typed values (frozen dataclasses in, dataclasses out) and errors
from :mod:`contivpy.vppcalls.errors`. Layers, bottom up:

- ``codec`` (the only importer of vpp_papi), ``definitions/`` (VPP 26.06 message
  definitions, ours), ``retvals``, ``wire`` (addresses and MACs on the wire);
- ``connection`` (handshake, definitions check, pipelining by context, dumps, events),
  ``client`` (health checks, restart detection, reconnects, event re-subscription),
  ``subscriptions``, ``channel`` (the protocol the typed calls need);
- typed calls: ``system``, ``interfaces`` (dump, admin state, MAC, MTU, tag, events),
  ``loopback``, ``tap``, ``memif``, ``af_packet``, ``subinterfaces``, ``vxlan``,
  ``interface_ip`` (VRF binding, addresses, unnumbered), ``vrf``, ``routes``, ``neighbors``,
  ``proxy_arp``, ``xconnect``, ``bridge_domains``, ``l2fib``.
"""
