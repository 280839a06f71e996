"""One non-streaming attempt on one upstream: POST, then judge the status and the body.

A 200 whose body is not JSON, carries no content, or fails the route's response schema is a
failure like a 5xx (the router fails over); a 400/422 is the client's fault (passed back).
Streaming attempts are judged the same way by :class:`gateway.sse.UpstreamStream`.
"""

from __future__ import annotations

from typing import Any

import orjson
from jsonschema import Draft202012Validator

from gateway.failures import AttemptFailure, check_status
from gateway.transport.base import Transport
from gateway.upstream import Upstream
from gateway.validation import MALFORMED, check_completion


async def complete(
    transport: Transport,
    up: Upstream,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    validator: Draft202012Validator | None,
) -> tuple[bytes, dict[str, Any]]:
    """POST a non-streaming completion; returns the raw body and its parsed document.

    Raises:
        AttemptFailure: connect error, timeout, bad status, malformed/empty/schema-invalid output.
        ClientFault: the upstream answered 400/422.
    """
    status, retry_after, raw = await transport.post(up.url, body, headers, timeout_s)
    if status != 200:
        check_status(status, retry_after, raw)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AttemptFailure(MALFORMED, status=200, detail="body is not JSON") from exc
    reason = check_completion(doc, validator)
    if reason is not None:
        raise AttemptFailure(reason, status=200)
    return raw, doc
