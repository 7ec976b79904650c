"""What an omitted descriptor callback means, in one place.

In: nothing. Out: ``DescriptorBase``, which concrete descriptors subclass and override only
what they need. Defaults follow the anchor (Ligato's KVScheduler): no validation, no
dependencies, no derived values, equality as equivalence, update only when implemented
(otherwise every change is a re-create), every error retriable unless it is a PermanentError,
and no retrieve (resync then trusts what was applied).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.errors import is_retriable
from contivpy.scheduler.api import KV, Dependency, Key, Retrieved


class DescriptorBase:
    """Defaults for every Descriptor member; subclass and set ``name`` and ``key_prefix``."""

    name: ClassVar[str] = ""
    key_prefix: ClassVar[str] = ""
    retrieve_after: ClassVar[Sequence[str]] = ()

    @property
    def supports_update(self) -> bool:
        """True when the subclass overrides ``update``."""
        return type(self).update is not DescriptorBase.update

    @property
    def supports_retrieve(self) -> bool:
        """True when the subclass overrides ``retrieve``."""
        return type(self).retrieve is not DescriptorBase.retrieve

    def owns(self, key: Key) -> bool:
        return True

    def validate(self, key: Key, value: Any) -> None:
        return None

    def dependencies(self, key: Key, value: Any) -> Sequence[Dependency]:
        return ()

    def derived(self, key: Key, value: Any) -> Sequence[KV]:
        return ()

    def equivalent(self, key: Key, old: Any, new: Any) -> bool:
        return bool(old == new)

    def needs_recreate(self, key: Key, old: Any, new: Any) -> bool:
        return not self.supports_update

    def is_retriable(self, error: BaseException) -> bool:
        return is_retriable(error)

    async def create(self, key: Key, value: Any) -> Any:
        raise NotImplementedError(f"{self.name}: create is not implemented")

    async def update(self, key: Key, old: Any, new: Any, metadata: Any) -> Any:
        raise NotImplementedError(f"{self.name}: update is not implemented")

    async def delete(self, key: Key, value: Any, metadata: Any) -> None:
        raise NotImplementedError(f"{self.name}: delete is not implemented")

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        return ()
