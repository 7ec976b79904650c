"""Stand-ins for systems that do not exist on a developer machine (VPP, the Kubernetes API).

Used by tests and by ``contivpy demo``; never by the agent in production.
"""
