"""The dependency-ordered key-value scheduler: the heart of contivpy.

Generic: it knows nothing of VPP. Controllers send transactions of key -> value; descriptors
registered per key prefix turn values into southbound calls. See ``scheduler.scheduler``.
"""

from contivpy.scheduler.api import (
    KV,
    Dependency,
    Descriptor,
    InvalidValueError,
    Key,
    KeyRevision,
    MetadataView,
    OpError,
    OpKind,
    OpRecord,
    Origin,
    Retrieved,
    RetryPolicy,
    Txn,
    TxnKind,
    TxnRecord,
    TxnResult,
    ValueState,
    ValueStatus,
)
from contivpy.scheduler.descriptor_defaults import DescriptorBase
from contivpy.scheduler.errors import (
    RegistryError,
    SchedulerError,
    SchedulerStoppedError,
    TxnOptionsError,
    TxnQueueFullError,
)
from contivpy.scheduler.history import HistoryLimits
from contivpy.scheduler.requests import SchedulerStats
from contivpy.scheduler.scheduler import Scheduler
from contivpy.scheduler.status_watch import StatusSubscription

__all__ = [
    "KV",
    "Dependency",
    "Descriptor",
    "DescriptorBase",
    "HistoryLimits",
    "InvalidValueError",
    "Key",
    "KeyRevision",
    "MetadataView",
    "OpError",
    "OpKind",
    "OpRecord",
    "Origin",
    "RegistryError",
    "Retrieved",
    "RetryPolicy",
    "Scheduler",
    "SchedulerError",
    "SchedulerStats",
    "SchedulerStoppedError",
    "StatusSubscription",
    "Txn",
    "TxnKind",
    "TxnOptionsError",
    "TxnQueueFullError",
    "TxnRecord",
    "TxnResult",
    "ValueState",
    "ValueStatus",
]
