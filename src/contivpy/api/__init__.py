"""The agent's gRPC APIs and the operator's client.

Modules: ``introspection`` (what a running agent offers the debug API), ``debug_service``
(the AgentDebug service), ``server`` (unix socket and TLS listeners), ``ctl`` and
``ctl_views`` (``contivpy ctl``), ``convert`` and ``rendering`` (records and values as
messages and JSON), ``request_codec`` (request decoding that names bad fields), ``tables``.
grpclib is imported in this package only; the generated messages live in ``contivpy._gen``.
"""

from pathlib import Path

DEFAULT_DEBUG_SOCKET = Path("/run/contivpy/debug.sock")
"""Where the agent's debug API listens and ``contivpy ctl`` looks by default."""
