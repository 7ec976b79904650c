"""What a node agent reports about a reflected object that only it can know, in etcd.

In: a node name, the object (its resource keyword, namespace and name) and the problems the
node has with it (e.g. an ExternalInterface naming a NIC this node's VPP does not have). Out:
the key ``<prefix>reports/<node>/<resource>/<namespace>/<name>`` (relative to the reflector's
prefix: ``REPORTS_PREFIX`` + ...) and its value (JSON ``{"problems": [...]}``), and back. The
agents write them; the reflector's leader folds them into the objects' statuses. A key
exists only while its node has a problem with the object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

REPORTS_PREFIX = "reports/"


@dataclass(frozen=True, slots=True, order=True)
class ReportedObject:
    """The object a report is about."""

    resource: str  # e.g. "external-interface"
    namespace: str
    name: str


def report_key(node: str, about: ReportedObject) -> str:
    """The key (relative to the reflector's prefix) of ``node``'s report about ``about``."""
    return f"{REPORTS_PREFIX}{node}/{about.resource}/{about.namespace or '-'}/{about.name}"


def parse_report_key(key: str) -> tuple[str, ReportedObject] | None:
    """(node, object) of a report key (relative to the reflector's prefix), None if it is
    not one."""
    if not key.startswith(REPORTS_PREFIX):
        return None
    parts = key[len(REPORTS_PREFIX) :].split("/")
    if len(parts) != 4 or not all(parts):
        return None
    node, resource, namespace, name = parts
    return node, ReportedObject(resource, "" if namespace == "-" else namespace, name)


def encode_report(problems: list[str]) -> bytes:
    """A report's value."""
    return json.dumps({"problems": problems}, sort_keys=True).encode()


def decode_report(value: bytes) -> list[str]:
    """A report's problems (ValueError when the value is no report)."""
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a report: {error}") from error
    problems = data.get("problems") if isinstance(data, dict) else None
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        raise ValueError("not a report: problems must be a list of strings")
    return problems
