"""Request bodies shared by the provider tests."""

from __future__ import annotations

from typing import Any


def chat_body(*, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "llama-3.1-70b-private-eu",
        "messages": [{"role": "user", "content": "hello there"}],
        "user": "govchaos:req-1",
    }
    if stream:
        body["stream"] = True
    body.update(extra)
    return body
