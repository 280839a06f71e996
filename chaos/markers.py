"""Per-request markers in message content: the ground truth that ties an upstream request to
the client request it carries.

The load generator appends ``[govchaos-request-id:<id>]`` to every prompt it sends, and the
simulated upstreams record every such id found anywhere in the body they received. Unlike the
``X-Govchaos-Request-Id`` header or the body's ``user`` field, the marker travels inside the
client's data itself: a gateway that forwards the prompt forwards the marker (even one that drops
headers and ``user``), and a request that carries no marker carries no client prompt unless the
gateway rewrote it (which the violation counter checks separately, by the prompt text).

>>> text = mark("Summarise the case.", "ab12-7")
>>> text
'Summarise the case. [govchaos-request-id:ab12-7]'
>>> find_request_ids(text)
('ab12-7',)
>>> find_request_ids('{"content": "ping"}')
()
"""

from __future__ import annotations

import re

MARKER_PREFIX = "govchaos-request-id:"
# Ids are the load generator's ``<run id>-<index>``; the class excludes JSON's escaped
# characters, so the raw body bytes can be searched without decoding the JSON.
_MARKER = re.compile(re.escape(MARKER_PREFIX) + r"([A-Za-z0-9][A-Za-z0-9._-]{0,127})")

# Gateway health probes (reference gateway, ``breaker.probe: background``) carry this header.
# It is recorded, never trusted on its own: an entry is a probe only if it carries no client
# content (see chaos.runner.violations).
PROBE_HEADER = "X-Govchaos-Probe"

# How much of a request's message text an upstream keeps in its log (enough to recognise the
# harness's prompt when a gateway stripped the marker).
EXCERPT_CHARS = 512


def mark(prompt: str, request_id: str) -> str:
    """``prompt`` with the request's marker appended."""
    return f"{prompt} [{MARKER_PREFIX}{request_id}]"


def find_request_ids(text: str) -> tuple[str, ...]:
    """Every distinct marked request id in ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _MARKER.finditer(text):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


def strip_markers(text: str) -> str:
    """``text`` without any marker (what is left of the client's prompt)."""
    return re.sub(r"\s*\[" + _MARKER.pattern + r"\]", "", text)


def message_text(body: object) -> str:
    """The text of a chat body's messages, user messages first (string or text-part content)."""
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    user: list[str] = []
    other: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        parts: list[str] = []
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p["text"] for p in content
                      if isinstance(p, dict) and isinstance(p.get("text"), str)]
        (user if message.get("role") == "user" else other).extend(parts)
    return "\n".join(user + other)
