"""The JSON reader shared by both faces: depth bounded before parsing,
values checked after; bodies read in blocks."""

import io
import json

import pytest

from artifacts import errors, request_body
from artifacts.request_body import (MAX_JSON_DEPTH, TooDeep, nesting_depth,
                                    parse_json)


@pytest.mark.parametrize("text,depth", [
    ("1", 0), ("[]", 1), ("{}", 1), ('{"a": [1, {"b": []}]}', 4),
    ('"[[[["', 0), ('["]]]]", [[1]]]', 3), (r'["\"[[", [1]]', 2),
    (r'{"a\\": [1]}', 2), ('[[[', 3), ('"unterminated [[[[', 0),
])
def test_nesting_depth_ignores_brackets_in_strings(text, depth):
    assert nesting_depth(text) == depth


@pytest.mark.parametrize("doc", [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    '["[[[[\\"]]]", ' + "[" * 3000 + "]" * 3000 + "]",
    "[" * 100000,                      # unbalanced: still refused for depth
])
def test_deep_documents_are_refused_before_parsing(doc):
    with pytest.raises(TooDeep) as info:
        parse_json(doc.encode())
    assert info.value.status == 400
    assert "nested too deeply" in info.value.message


def test_the_limit_itself_is_accepted():
    doc = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    value = parse_json(doc)
    for _ in range(MAX_JSON_DEPTH - 1):
        value = value[0]
    assert value == []


def test_utf16_bodies_are_scanned_as_text():
    """json.loads(bytes) takes UTF-16: the scan must see the same
    characters, not bytes (U+225B is 0x5B 0x22 = '[' '"' in UTF-16-LE)."""
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(TooDeep):
        parse_json(deep.encode("utf-16-le"))
    assert parse_json('["\u225b"]'.encode("utf-16-le")) == ["\u225b"]


@pytest.mark.parametrize("data", [b"{", b"\xff\xfe\x00", b'"\xc3', b"nope",
                                  b'{"a": 1}}'])
def test_malformed_uses_the_callers_words(data):
    with pytest.raises(errors.Invalid) as info:
        parse_json(data, "Malformed JSON in request body.")
    assert info.value.message == "Malformed JSON in request body."


def test_values_are_checked_and_kwargs_reach_json():
    with pytest.raises(errors.Invalid, match="Null characters"):
        parse_json(b'{"a": "\\u0000"}')
    with pytest.raises(errors.Invalid, match="finite"):
        parse_json(b"[1e999]")

    def no_constants(name):
        raise errors.Invalid("no %s" % name)
    with pytest.raises(errors.Invalid, match="no NaN"):
        parse_json(b"[NaN]", parse_constant=no_constants)


@pytest.mark.parametrize("number", [str(2 ** 63), str(-2 ** 63 - 1),
                                    "1" + "0" * 400, "-" + "9" * 4000])
def test_integers_beyond_64_bits_are_refused(number):
    # Named by its JSON Pointer in the document, whatever the body.
    with pytest.raises(errors.Invalid, match="at '/minimum': integers "
                       "must be between"):
        parse_json('{"minimum": %s}' % number)
    with pytest.raises(errors.Invalid, match="at '/0/0/a~1b~0/1': integers"):
        parse_json('[[{"a/b~": [1, %s]}]]' % number)
    with pytest.raises(errors.Invalid, match="at '/0/value': integers"):
        parse_json('[{"op": "add", "path": "/min_disk", "value": %s}]'
                   % number)
    with pytest.raises(errors.Invalid, match="^Invalid value: integers"):
        parse_json(number)


def test_64_bit_integers_are_kept():
    assert parse_json("[%d, %d]" % (2 ** 63 - 1, -2 ** 63)) == [
        2 ** 63 - 1, -2 ** 63]


def test_a_megabyte_of_brackets_is_scanned_quickly():
    import time
    doc = ("[" * 512 * 1024 + "]" * 512 * 1024).encode()
    start = time.monotonic()
    with pytest.raises(TooDeep):
        parse_json(doc)
    assert time.monotonic() - start < 5


def test_quadratic_quotes_stay_linear():
    """An unterminated string full of escaped quotes stops the scan at the
    first failed string instead of retrying from every quote."""
    import time
    doc = '"' + '\\"' * 400000
    start = time.monotonic()
    assert nesting_depth(doc) == 0
    assert time.monotonic() - start < 2


def test_body_chunks_reports_a_short_body():
    environ = {"wsgi.input": io.BytesIO(b"abc")}
    chunks = request_body.body_chunks(environ, 5)
    assert next(chunks) == b"abc"
    with pytest.raises(request_body.ClientDisconnected):
        next(chunks)


def test_normal_documents_round_trip():
    doc = {"name": "x", "tags": ["a", "b"], "nested": {"k": [1, 2.5, None]}}
    assert parse_json(json.dumps(doc).encode()) == doc
