"""The plugin's JSON reader and writer (``_json`` without ``json``) against ``json`` itself."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contivpy.cni import json_text

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(DOCUMENTS)
def test_it_writes_what_json_writes_and_reads_it_back(value: object) -> None:
    text = json_text.dumps(value)
    assert text == json.dumps(value, sort_keys=True)
    assert json_text.loads(text) == json.loads(text)


@given(st.text(max_size=40))
def test_any_text_is_read_as_json_reads_it_or_refused_as_json_refuses_it(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError as refused:
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            json_text.loads(text)
    else:
        got = json_text.loads(text)
        assert got == expected or (isinstance(got, float) and math.isnan(got))


def test_whitespace_and_constants_as_json_reads_them() -> None:
    assert json_text.loads(' \n\t{"a": [1, 2.5e3, "\\u00e9", true, null]}\r\n ') == {
        "a": [1, 2500.0, "é", True, None]
    }
    assert json_text.loads("[Infinity, -Infinity]") == [math.inf, -math.inf]
    assert math.isnan(json_text.loads("NaN"))  # type: ignore[arg-type]


def test_a_document_that_is_not_json_names_where_without_json_imported() -> None:
    """``_json`` raises json's error only when json is loaded; the plugin does not load it
    until a document is bad, and must then say where, not fail with a SystemError."""
    script = (
        "import sys\n"
        "from contivpy.cni import json_text\n"
        "assert 'json' not in sys.modules\n"
        "for bad in ('{', '{\"a\": }', '[1] 2', '\"\\\\x\"', ''):\n"
        "    try:\n"
        "        json_text.loads(bad)\n"
        "    except ValueError as error:\n"
        "        print(type(error).__name__, error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert out == [
        "JSONDecodeError Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1)",
        "JSONDecodeError Expecting value: line 1 column 7 (char 6)",
        "JSONDecodeError Extra data: line 1 column 5 (char 4)",
        "JSONDecodeError Invalid \\escape: line 1 column 2 (char 1)",
        "JSONDecodeError Expecting value: line 1 column 1 (char 0)",
    ]


def test_what_is_no_json_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json_text.dumps({"a": {1}})
