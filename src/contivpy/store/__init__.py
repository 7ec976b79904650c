"""The key-value store: a protocol (``api``), its etcd adapter (``etcd``), an embedded etcd
launcher (``embedded``), a resuming watch (``watch``) and lease keep-alives (``leases``).

Importing this package gives the protocol, its types, the settings and the errors; it does
not import aetcd or gRPC (``contivpy.store.etcd`` does, when the composition root needs it).
"""

from contivpy.store.api import (
    Compare,
    CompareOp,
    DeleteOp,
    DeleteResult,
    EventType,
    ExistsCompare,
    GetOp,
    GetResult,
    KeyValue,
    Lease,
    ListResult,
    ModRevisionCompare,
    PutOp,
    PutResult,
    Store,
    Txn,
    TxnOp,
    TxnResult,
    ValueCompare,
    WatchEvent,
    WatchStream,
)
from contivpy.store.errors import (
    CompactedError,
    EmbeddedEtcdError,
    LeaseNotFoundError,
    StoreAuthError,
    StoreClosedError,
    StoreError,
    StoreRequestError,
    StoreUnavailableError,
)
from contivpy.store.settings import Endpoint, StoreSettings

__all__ = [
    "CompactedError",
    "Compare",
    "CompareOp",
    "DeleteOp",
    "DeleteResult",
    "EmbeddedEtcdError",
    "Endpoint",
    "EventType",
    "ExistsCompare",
    "GetOp",
    "GetResult",
    "KeyValue",
    "Lease",
    "LeaseNotFoundError",
    "ListResult",
    "ModRevisionCompare",
    "PutOp",
    "PutResult",
    "Store",
    "StoreAuthError",
    "StoreClosedError",
    "StoreError",
    "StoreRequestError",
    "StoreSettings",
    "StoreUnavailableError",
    "Txn",
    "TxnOp",
    "TxnResult",
    "ValueCompare",
    "WatchEvent",
    "WatchStream",
]
