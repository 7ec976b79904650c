"""What every VPP descriptor shares: the VPP channel, the metadata view, error classification.

In: an :class:`~contivpy.vppcalls.channel.ApiChannel` (the agent's VppClient) and a
:class:`~contivpy.scheduler.MetadataView` (the scheduler). Out: :class:`VppDescriptor`, the
base class of the descriptors in this package. A failure is retriable exactly when repeating
the call may succeed: VPP's own verdict for a refused request (``VppApiError.retriable``: busy,
try again), the contivpy error tree's for the rest (a lost connection is retriable, a value
that does not fit a field is not).
"""

from __future__ import annotations

from contivpy.descriptors.indexes import BridgeDomainIndex, InterfaceIndex
from contivpy.errors import is_retriable
from contivpy.scheduler import DescriptorBase, MetadataView
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.errors import VppApiError


class VppDescriptor(DescriptorBase):
    """A descriptor that talks to VPP; subclasses set ``name`` and ``key_prefix``."""

    def __init__(self, vpp: ApiChannel, view: MetadataView) -> None:
        self.vpp = vpp
        self.view = view
        self.interfaces = InterfaceIndex(view)
        self.bridge_domains = BridgeDomainIndex(view)

    def is_retriable(self, error: BaseException) -> bool:
        if isinstance(error, VppApiError):
            return error.retriable
        if isinstance(error, ValueError | TypeError):
            return False  # a value the calls cannot encode: repeating changes nothing
        return is_retriable(error)
