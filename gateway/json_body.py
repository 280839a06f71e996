r"""The request body as strict JSON: UTF-8, no NaN, no duplicate key, bounded nesting.

Duplicate keys without a second parse: orjson keeps the last of duplicate keys. Every object
member in the raw text has exactly one ``:`` outside strings, so in a body without escapes
(no backslash) ``raw.count(b":")`` is the number of members, plus the colons in strings, plus
those in members a duplicate dropped. orjson writes every colon literally, so the colons in
the re-encoded parsed body are its members (the raw ones minus the dropped) plus the colons in
the strings that survived. The first count is never smaller, and equal only if nothing was
dropped: equality proves there was no duplicate. Otherwise (or with escapes, where ``\u003a``
is a colon too) the body is scanned again strictly (``json`` with a pair hook), which finds a
duplicate exactly or clears it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from gateway.errors import BadRequest, InvalidBody, LimitExceeded


class _TooDeep(Exception):
    """Internal: the walk went past the depth limit; ``path`` is built while unwinding."""

    def __init__(self) -> None:
        self.path: list[str] = []


def _check_depth(node: Any, depth: int, limit: int) -> None:
    """Raises _TooDeep if a container under ``node`` (a dict or list at ``depth``) is nested
    deeper than ``limit``; only containers are visited."""
    if depth > limit:
        raise _TooDeep()
    if type(node) is dict:
        for key, value in node.items():
            t = type(value)
            if t is dict or t is list:
                try:
                    _check_depth(value, depth + 1, limit)
                except _TooDeep as exc:
                    exc.path.append(key)
                    raise
        return
    for i, value in enumerate(node):
        t = type(value)
        if t is dict or t is list:
            try:
                _check_depth(value, depth + 1, limit)
            except _TooDeep as exc:
                exc.path.append(str(i))
                raise


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return obj


def short_repr(value: str) -> str:
    """``repr`` of at most 64 characters (error messages quote client input)."""
    return repr(value if len(value) <= 64 else value[:64] + "…")


def parse_json_body(raw: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object, strictly (see the module docstring).

    Raises:
        BadRequest: not JSON / not UTF-8 (``invalid_request``), a duplicate key
            (``duplicate_key``), nesting over ``max_depth`` (``limit_exceeded``).
        InvalidBody: JSON, but not an object.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("depth limit exceeded"):
            raise LimitExceeded(f"the body is nested deeper than limits.max_json_depth "
                                f"({max_depth})") from None
        raise BadRequest(f"body is not valid JSON: {exc.msg}") from None
    if type(body) is not dict:
        raise InvalidBody("body must be a JSON object")
    try:
        _check_depth(body, 1, max_depth)
    except _TooDeep as exc:
        where = ".".join(reversed(exc.path))
        raise LimitExceeded(f"the body is nested deeper than limits.max_json_depth ({max_depth})"
                            f" at {where}", param=where) from None
    # The certificate (module docstring) holds only without escapes, where \u003a is a colon
    # too; a backslash is found at memchr speed, counting escapes would cost a scan each.
    if b"\\" in raw or raw.count(b":") != orjson.dumps(body).count(b":"):
        try:
            json.loads(raw, object_pairs_hook=_no_duplicates)
        except _Duplicate as exc:
            key = str(exc.args[0])
            raise BadRequest(f"duplicate key {short_repr(key)} in the JSON body (ambiguous: "
                             "every key may appear once per object)", code="duplicate_key",
                             param=key) from None
        except (ValueError, RecursionError) as exc:  # what orjson took but json does not
            raise BadRequest(f"body is not valid JSON: {exc}") from None
    return body
