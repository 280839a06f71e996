"""Byte-exact OpenAI chat-completions shapes, as the simulated upstreams send them.

Non-streaming answers are ``chat.completion`` objects; streams are Server-Sent Events whose
``data:`` lines are ``chat.completion.chunk`` objects (first chunk carries the role, then one
chunk per content piece, then a chunk with ``finish_reason`` and an empty delta; when the
request asked ``stream_options: {"include_usage": true}``, a last chunk with empty ``choices``
and the ``usage``, as OpenAI sends it), closed by ``data: [DONE]``. Errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}`` body.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson

SYSTEM_FINGERPRINT = "fp_govchaos_sim"
_PIECE = re.compile(r"\s*\S+|\s+$")


def default_content(upstream: str) -> str:
    """The content a healthy upstream answers with: a small JSON object naming itself."""
    return orjson.dumps(
        {"answer": f"simulated answer from {upstream}", "upstream": upstream}
    ).decode()


def split_tokens(content: str) -> list[str]:
    """Split content into stream pieces (a word with its leading space; never loses a byte)."""
    pieces = _PIECE.findall(content)
    assert "".join(pieces) == content  # the regex covers every character
    return pieces


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """A rough prompt size (words in the messages' string contents), for ``usage``."""
    total = 0
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content.split())
    return total


def include_usage(body: dict[str, Any]) -> bool:
    """Whether a streaming request asked for the final usage chunk
    (``stream_options: {"include_usage": true}``)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    *, completion_id: str, model: str, content: str, prompt_tokens: int, created: int | None = None
) -> bytes:
    """A non-streaming ``chat.completion`` body."""
    completion_tokens = len(split_tokens(content))
    return orjson.dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created if created is not None else int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage(prompt_tokens, completion_tokens),
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
    )


def _chunk_event(completion_id: str, model: str, created: int, choices: list[dict[str, Any]],
                 **extra: Any) -> bytes:
    """One SSE event carrying a ``chat.completion.chunk`` (``data: {...}\\n\\n``)."""
    payload = orjson.dumps({
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
        **extra,
    })
    return b"data: " + payload + b"\n\n"


def chunk(
    *,
    completion_id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
) -> bytes:
    """One content chunk of a stream."""
    return _chunk_event(completion_id, model, created, [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])


def usage_chunk(
    *, completion_id: str, model: str, created: int, prompt_tokens: int, completion_tokens: int
) -> bytes:
    """The stream's last chunk under ``include_usage``: no choices, the whole stream's usage."""
    return _chunk_event(completion_id, model, created, [],
                        usage=usage(prompt_tokens, completion_tokens))


DONE = b"data: [DONE]\n\n"


def error_body(message: str, *, error_type: str, code: str | None = None) -> bytes:
    """OpenAI's error object."""
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    )


def models_list(model: str, *, owned_by: str) -> bytes:
    """``GET /v1/models``: the one model this upstream serves."""
    return orjson.dumps(
        {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": owned_by}],
        }
    )
