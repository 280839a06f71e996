from __future__ import annotations

import pytest

from gateway.errors import ConfigError
from gateway.validation import TOOL_CALL, check_completion, check_content, chunk_content, compile_schema


def doc(content):
    return {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_completion_shapes() -> None:
    assert check_completion(doc("hi"), None) is None
    assert check_completion(doc(""), None) == "empty"
    assert check_completion(doc(None), None) == "empty"
    assert check_completion(doc(3), None) == "malformed"
    for bad in ([], {}, {"choices": {}}, {"choices": [1]}, {"choices": [{"message": "x"}]}):
        assert check_completion(bad, None) == "malformed"
    tool = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [{}]}}]}
    assert check_completion(tool, None) is None


def test_schema() -> None:
    v = compile_schema({"type": "object", "required": ["a"]}, "r")
    assert check_content('{"a": 1}', v) is None
    assert check_content('{"b": 1}', v) == "schema_invalid"
    assert check_content("not json", v) == "schema_invalid"
    with pytest.raises(ConfigError) as exc:
        compile_schema({"type": "no-such-type"}, "r")
    assert exc.value.location.field == "routes.r.response_schema"


def test_chunks() -> None:
    assert chunk_content({"choices": [{"delta": {"content": "x"}}]}) == "x"
    assert chunk_content({"choices": [{"delta": {"role": "assistant"}}]}) == ""
    assert chunk_content({"choices": []}) == ""
    assert chunk_content({"choices": [{"delta": {"tool_calls": [{}]}}]}) == TOOL_CALL
    assert chunk_content({"choices": [{"delta": {"content": 5}}]}) is None
    assert chunk_content([]) is None
