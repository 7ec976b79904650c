"""Scheduler descriptors of the Linux side, one module per kind.

In: Linux values (``contivpy.linux.models``) under their keys (``contivpy.linux.keys``).
Out: netlink calls through ``contivpy.linux.netlink``. ``netns`` (namespaces looked for),
``interface`` (with ``veth`` and ``link_tags``), ``address``, ``route``, ``arp``; ``common``
holds the interface metadata the others read. ``contivpy.linux.registration`` registers them.
"""
