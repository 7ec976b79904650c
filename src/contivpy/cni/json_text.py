"""JSON text to Python values and back, for the exec'd plugin, without importing ``json``.

In: a JSON document as text; a value made of dicts, lists, strings, numbers, booleans and
None. Out: the value (ValueError when the text is no JSON document); the JSON text (keys
sorted; TypeError for anything else).

``import json`` costs the plugin about 9 ms of a start of about 20: json's Python layer
imports ``re`` and compiles its patterns, used only by its pure-Python fallbacks. The parsing
and encoding themselves are done by the C accelerator ``_json`` that ``json`` uses too; this
module calls it directly with the settings ``json.loads`` and ``json.dumps`` use by default
(tests/cni/test_json_text.py checks both against ``json`` on generated documents). Where
``_json`` is missing (another Python implementation), it falls back to ``json``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the plugin ~8 ms

if TYPE_CHECKING:
    from collections.abc import Callable

_WHITESPACE = " \t\n\r"  # JSON's insignificant whitespace (RFC 8259 section 2)


def _not_json(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _Settings:
    """What ``_json.make_scanner`` reads from ``json.JSONDecoder``: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity: as json.loads reads them


_scan: Callable[[str, int], tuple[object, int]] | None
_encode: Callable[[object, int], list[str]] | None
try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _scan = _encode = None
else:
    # typeshed types the context as a scanner; _json reads only _Settings' attributes.
    _scan = _json.make_scanner(_Settings())  # type: ignore[arg-type]
    # (markers, default, encoder, indent, key separator, item separator, sort_keys,
    # skipkeys, allow_nan): json.dumps's defaults, but for sort_keys.
    _encode = _json.make_encoder(
        {}, _not_json, _json.encode_basestring_ascii, None, ": ", ", ", True, False, True
    )


def loads(text: str) -> object:
    """The value of a JSON document; ValueError (json's JSONDecodeError) naming where it is
    not JSON."""
    if _scan is not None:
        document = text.strip(_WHITESPACE)
        try:
            value, end = _scan(document, 0)
        except (StopIteration, ValueError, SystemError):
            # _json reports a malformed document through json.decoder's error class, which
            # it finds only once json is imported (a SystemError before): json.loads below
            # gives the error, naming the line and column.
            pass
        else:
            if end == len(document):
                return value
    import json  # a document that is not JSON, or no _json: json's own answer

    return json.loads(text)


def dumps(value: object) -> str:
    """The JSON text of a value, keys sorted, on one line."""
    if _encode is None:  # pragma: no cover
        import json

        return json.dumps(value, sort_keys=True)
    return "".join(_encode(value, 0))
