"""Checks an upstream's answer before a client sees it: OpenAI response shape, non-empty
content, and (per route) a JSON Schema for the message content.

Each check returns a failover reason (a short stable string) or ``None`` when the answer is good.

>>> check_completion({"choices": [{"message": {"role": "assistant", "content": "hi"}}]}, None)
>>> check_completion({"choices": []}, None)
'malformed'
"""

from __future__ import annotations

from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from gateway.errors import ConfigError
from governance.errors import Location

MALFORMED, EMPTY, SCHEMA_INVALID = "malformed", "empty", "schema_invalid"
TOOL_CALL = "\0tool-call"  # chunk_content's marker for a tool-call delta (output, but not text)


def compile_schema(schema: dict[str, Any], route: str) -> Draft202012Validator:
    """A validator for a route's ``response_schema``.

    Raises:
        ConfigError: the schema itself is invalid (names the route's field).
    """
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(
            f"invalid JSON Schema: {exc.message}",
            location=Location(field=f"routes.{route}.response_schema"),
        ) from exc
    return Draft202012Validator(schema)


def check_content(content: str, validator: Draft202012Validator | None) -> str | None:
    """Failover reason for a complete message content, or None."""
    if not content:
        return EMPTY
    if validator is not None:
        try:
            doc = orjson.loads(content)
        except orjson.JSONDecodeError:
            return SCHEMA_INVALID
        if not validator.is_valid(doc):
            return SCHEMA_INVALID
    return None


def check_completion(doc: Any, validator: Draft202012Validator | None) -> str | None:
    """Failover reason for a non-streaming chat completion document, or None."""
    if not isinstance(doc, dict):
        return MALFORMED
    choices = doc.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return MALFORMED
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return MALFORMED
    content = message.get("content")
    if content is None and message.get("tool_calls"):
        return None  # a tool call is a complete answer without text
    if content is not None and not isinstance(content, str):
        return MALFORMED
    return check_content(content or "", validator)


def chunk_content(doc: Any) -> str | None:
    """The text delta of one streaming chunk ("" for role/finish chunks); None if malformed."""
    if not isinstance(doc, dict):
        return None
    choices = doc.get("choices")
    if not isinstance(choices, list):
        return None
    if not choices:
        return ""  # e.g. a usage-only chunk
    first = choices[0]
    if not isinstance(first, dict):
        return None
    delta = first.get("delta")
    if delta is None:
        return ""
    if not isinstance(delta, dict):
        return None
    content = delta.get("content")
    if content is None:
        return TOOL_CALL if delta.get("tool_calls") else ""
    return content if isinstance(content, str) else None
