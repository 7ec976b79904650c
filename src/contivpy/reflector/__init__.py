"""The Kubernetes state reflector: list+watch Kubernetes, write the models into etcd.

In: a Kubernetes API server (kubeconfig or in-cluster) and etcd. Out: every reflected kind
under ``<prefix>k8s/<kind>/...`` as JSON of the ``contivpy.k8s.v1`` models, kept equal to the
cluster by one elected instance; node deletion side effects; counters as Prometheus metrics
and in ``<prefix>status/gauges``.

Modules, from the outside in: ``command`` (CLI entry), ``service`` (assembly), ``election``,
``informer`` (list+watch per kind) over ``source`` (protocol) and ``watching`` (the only
importer of kubernetes_asyncio), ``converting`` and ``converting_custom`` (pure: Kubernetes
JSON -> model) with ``json_reading``, ``custom_config`` (pure: a CustomConfiguration's items
-> vpp-agent keys) and ``custom_config_writer`` (those keys, records, status, Events),
``kinds`` (the table), ``view`` (the informers' view and
dirty tracking), ``mirror`` (etcd writer: mark-and-sweep, fenced transactions), ``status``
(stats record, data loss), ``stats`` and ``metrics_http``, ``tasks``, ``errors``,
``settings``.
"""

from contivpy.reflector.command import run_reflector_command
from contivpy.reflector.service import ELECTION_KEY, STATUS_KEY, Reflector, run_reflector
from contivpy.reflector.settings import ReflectorSettings

__all__ = [
    "ELECTION_KEY",
    "STATUS_KEY",
    "Reflector",
    "ReflectorSettings",
    "run_reflector",
    "run_reflector_command",
]
