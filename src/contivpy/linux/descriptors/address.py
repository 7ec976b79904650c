"""Descriptor of interface addresses (derived from LinuxInterface values).

In: :class:`~contivpy.linux.models.LinuxInterfaceAddress` values under
``linux/interface/<name>/address/<ip>/<len>``; each carries its link's host name and
namespace. Out: the address is on the link (add), or not (delete).

No retrieve of its own: the interface descriptor reads a link's addresses back and the
scheduler re-derives these values from it, so an address removed behind our back shows up
missing and is added again. Adding one that is already there (``lo``'s 127.0.0.1/8, which
the kernel adds when lo comes up) counts as done; deleting one that is gone, too.
"""

from __future__ import annotations

import contextlib
from typing import Any

from contivpy.linux import keys
from contivpy.linux.descriptors.common import check_type
from contivpy.linux.errors import ObjectExistsError, is_gone
from contivpy.linux.models import LinuxInterfaceAddress
from contivpy.linux.netlink import Netlink
from contivpy.scheduler import DescriptorBase, Key

NAME = "linux-interface-address"


class InterfaceAddressDescriptor(DescriptorBase):
    """One address on one link."""

    name = NAME
    key_prefix = keys.DERIVED_INTERFACE_PREFIX

    def __init__(self, netlink: Netlink) -> None:
        self._netlink = netlink

    def owns(self, key: Key) -> bool:
        return keys.parse_interface_address_key(key) is not None

    def validate(self, key: Key, value: Any) -> None:
        check_type(value, LinuxInterfaceAddress, key)

    async def create(self, key: Key, value: LinuxInterfaceAddress) -> None:
        with contextlib.suppress(ObjectExistsError):
            await self._netlink.add_address(value.host_if_name, value.address, value.namespace)

    async def delete(self, key: Key, value: LinuxInterfaceAddress, metadata: Any) -> None:
        try:
            await self._netlink.delete_address(value.host_if_name, value.address, value.namespace)
        except Exception as error:
            if not is_gone(error):
                raise
