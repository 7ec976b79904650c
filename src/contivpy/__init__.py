"""contivpy: a Kubernetes network control plane for FD.io VPP.

Importing the package has no side effects; the composition root is ``contivpy.cli``.
"""

__version__ = "0.1.0"
