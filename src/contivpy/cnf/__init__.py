"""The CNF agent: a microservice's own VPP configured from its etcd subtree.

Modules: ``agent`` (``CnfAgent``: watch ``/vnf-agent/<label>/config/``, apply it through the
scheduler and the VPP descriptors) and ``command`` (``contivpy cnf``).
"""
