"""NetworkPolicies as per-pod rule tables, independent of who renders them (Contiv-VPP's
policy processor and configurator, and its renderer cache in egress orientation).

``model`` checks a reflected NetworkPolicy into a ``ContivPolicy``; ``configurator`` turns
the policies that select a pod into its sorted 6-tuple rules per direction; ``tables`` combines
the local pods' rules into the tables a node applies (one per isolated pod, shared by hash, and
``NODE-GLOBAL``); ``book`` keeps them current as policies, pods and namespaces change, reporting
only what changed; ``render`` computes the same from scratch; ``evaluate`` says whether a
packet passes. Pure: imports models only, no VPP and no ACL values.
"""
