"""Manifest files: YAML or JSON, one or many documents, read into objects to apply.

In: paths (files, or directories whose *.yaml, *.yml and *.json files are read in name order)
or text. Out: the Kubernetes objects in order, with ``kind: List`` documents expanded and empty
documents skipped, then stably reordered so Namespaces and CustomResourceDefinitions come
before what may depend on them. Anything else is a ManifestError naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from contivpy.sim.kube.errors import ManifestError
from contivpy.sim.kube.objects import JsonObject

_SUFFIXES = (".yaml", ".yml", ".json")
_FIRST_KINDS = ("Namespace", "CustomResourceDefinition")


def _objects(document: Any, origin: str) -> list[JsonObject]:
    if document is None:
        return []
    if not isinstance(document, dict):
        raise ManifestError(f"{origin}: a document is not a mapping")
    kind = str(document.get("kind", ""))
    if kind == "List" or (kind.endswith("List") and isinstance(document.get("items"), list)):
        items = document.get("items") or []
        return [o for item in items for o in _objects(item, origin)]
    if not document.get("apiVersion") or not document.get("kind"):
        raise ManifestError(f"{origin}: an object has no apiVersion or kind")
    return [document]


def load_manifest_text(text: str, origin: str = "<text>") -> list[JsonObject]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        # One line, as ``FILE:LINE:COLUMN: not YAML: <problem>`` (PyYAML's text spans lines).
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        raise ManifestError(f"{origin}{where}: not YAML: {problem}") from None
    return [o for d in documents for o in _objects(d, origin)]


def _files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ManifestError(f"{path}: no such file or directory")
    return files


def dependency_order(objects: Sequence[JsonObject]) -> list[JsonObject]:
    """Namespaces, then CRDs, then the rest, each group in its original order."""

    def rank(obj: JsonObject) -> int:
        kind = obj.get("kind")
        return _FIRST_KINDS.index(kind) if kind in _FIRST_KINDS else len(_FIRST_KINDS)

    return sorted(objects, key=rank)


def load_manifest_files(paths: Iterable[Path]) -> list[JsonObject]:
    objects: list[JsonObject] = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ManifestError(f"{path}: cannot read: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ManifestError(f"{path}: not UTF-8 text (byte offset {error.start})") from None
        objects += load_manifest_text(text, str(path))
    return dependency_order(objects)
