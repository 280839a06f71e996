"""Strict JSON/YAML parsing: located errors, never tracebacks, never unbounded expansion."""

from __future__ import annotations

import time

import pytest

from governance.strict_load import MAX_NODES, loads_json, loads_yaml
from governance.errors import PolicyInputError

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
)


def _err(fn, text):
    with pytest.raises(PolicyInputError) as info:
        fn(text, "f.yaml", PolicyInputError)
    return info.value


def test_yaml_duplicate_key_names_both_lines() -> None:
    err = _err(loads_yaml, "a: 1\nb:\n  c: 1\n  c: 2\n")
    assert (err.location.line, err.location.column) == (4, 3)
    assert "duplicate key 'c' (first on line 3)" in err.message


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    start = time.monotonic()
    err = _err(loads_yaml, BOMB)
    assert time.monotonic() - start < 2
    assert f"more than {MAX_NODES:,} nodes" in err.message


def test_yaml_small_aliases_and_merge_keys_still_work() -> None:
    data, _ = loads_yaml("base: &b {x: 1}\nuse: {<<: *b, y: 2}\nlist: [*b, *b]\n", "f", PolicyInputError)
    assert data["use"] == {"x": 1, "y": 2} and data["list"] == [{"x": 1}, {"x": 1}]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a:\n\tb: 1\n", "found character '\\t'"),
        (b"\xff\xfe: 1", "not UTF-8"),
        ("[" * 20000 + "]" * 20000, "nested too deeply"),
        ("a: &x [*x]\n", "recursive YAML alias"),
    ],
)
def test_yaml_bad_inputs_are_located_errors(text, needle) -> None:
    assert needle in _err(loads_yaml, text).message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ('{"a": 1e400}', "out of range"),
        ('{"a": ' + "9" * 5000 + "}", "more than 4300 digits"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        (b'{"a": "\xff"}', "not UTF-8"),
        ('{"a": 1,}', "invalid JSON"),
    ],
)
def test_json_bad_inputs_are_located_errors(text, needle) -> None:
    assert needle in _err(loads_json, text).message


def test_json_syntax_error_has_line_and_column() -> None:
    err = _err(loads_json, '{\n  "a": 1,\n}')
    assert (err.location.line, err.location.column) == (3, 1)


@pytest.mark.parametrize(
    ("text", "where", "first"),
    [
        ('{"route": "customer-chat", "route": "x"}', (1, 28), "line 1:2"),
        ('{"x": {"deny": true},\n "x": {"allow": true}}', (2, 2), "line 1:2"),
        ('[{"a": 1}, {"b": {"k": 1, "k": 2}}]', (1, 27), "line 1:19"),
        ('{"a": "{\\"a\\": 1", "a": 2}', (1, 20), "line 1:2"),
    ],
)
def test_json_duplicate_key_is_located_at_its_second_occurrence(text, where, first) -> None:
    err = _err(loads_json, text)
    assert "duplicate key" in err.message and f"(first at {first})" in err.message
    assert (err.location.line, err.location.column) == where


def test_json_same_key_in_different_objects_is_fine() -> None:
    assert loads_json('{"a": {"k": 1}, "b": {"k": 2}, "k": [{"k": 3}]}', "f", PolicyInputError)["k"] == [{"k": 3}]


def test_yaml_control_character_is_a_located_error() -> None:
    """Found by the scenario fuzz suite: the YAML reader raised before the parse was guarded."""
    err = _err(loads_yaml, "a: 1\n b\x01: 2")
    assert (err.location.line, err.location.column) == (2, 3)
    assert "U+0001 is not allowed" in err.message
