"""The line index's fast paths: bracket pairing outside strings and per-block newline counts."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.iam.jsonloc import LineIndex

TRICKY = ["${aws:username}", 'a"]}', "\\", "[{", "}]", '\\"', "\u00e9]", "x\ny", ""]


def _walk(value, pointer=()):
    yield pointer, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*pointer, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*pointer, i))


def _assert_locations_match(text: str, value) -> None:
    index = LineIndex(text)
    decoder = json.JSONDecoder()
    for pointer, expected in _walk(value):
        offset = index.offset(pointer)
        assert offset is not None, pointer
        assert decoder.raw_decode(text, offset)[0] == expected
        assert index.line(pointer) == text.count("\n", 0, offset) + 1


def test_brackets_and_escapes_inside_strings_across_many_blocks():
    roles = [
        {
            "RoleName": f"r{i}",
            "Tags": [{"Key": TRICKY[i % len(TRICKY)], "Value": TRICKY[(i + 3) % len(TRICKY)]}],
            TRICKY[i % len(TRICKY)] + str(i): {"Statement": [{"Resource": f"arn:aws:s3:::b/${{aws:username}}/{i}"}]},
            "n": [1, 2.5, None, True, {"e": []}, []],
        }
        for i in range(400)
    ]
    value = {"RoleDetailList": roles, "Policies": [{"Doc": "}]]"}]}
    for indent in (None, 0, 4):
        for ascii_only in (True, False):
            text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
            assert len(text) > 8 * 4096
            _assert_locations_match(text, value)


TEXT = st.text(alphabet=st.sampled_from(list('[]{}"\\,: \n\tab\u00e9')), max_size=8)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT),
    lambda c: st.one_of(st.lists(c, max_size=5), st.dictionaries(TEXT, c, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from([None, 1, 3]), st.booleans())
def test_offsets_and_lines_match_a_plain_count(value, indent, ascii_only):
    _assert_locations_match(json.dumps(value, indent=indent, ensure_ascii=ascii_only), value)
