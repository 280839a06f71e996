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

**Carried markers** model what an agent workflow does with an answer: a simulated upstream's
answer carries ``[govchaos-from:<id>]`` for every request whose content reached it (its own
request's marker, and every carried marker already in that content), so a later step built
from the answer still shows, in the next upstream's log, whose data it holds. They use another
prefix than request markers: the per-request policy check attributes an upstream request to
the request it belongs to, the data-flow check (``chaos.runner.data_flow``) to what it carries.

>>> answer = carry('{"answer": "ok"}', text)
>>> answer
'{"answer":"ok","carried":"[govchaos-from:ab12-7]"}'
>>> find_carried_ids(answer)
('ab12-7',)
>>> strip_carried(answer)
'{"answer":"ok","carried":""}'
"""

from __future__ import annotations

import re

import orjson

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


CARRIED_PREFIX = "govchaos-from:"
_CARRIED = re.compile(re.escape(CARRIED_PREFIX) + r"([A-Za-z0-9][A-Za-z0-9._-]{0,127})")


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


def find_carried_ids(text: str) -> tuple[str, ...]:
    """Every distinct carried request id in ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _CARRIED.finditer(text):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


def strip_carried(text: str) -> str:
    """``text`` without carried markers (what a redacting step keeps of an earlier answer)."""
    return re.sub(r"\s*\[" + _CARRIED.pattern + r"\]", "", text)


def carry(content: str, received: str) -> str:
    """``content`` (an answer) carrying a marker for each request whose data is in ``received``.

    A JSON-object answer gets a ``carried`` string field (routes validating a response schema
    that allows extra fields still accept it); any other answer gets the markers appended.
    Unchanged when ``received`` carries no marker.
    """
    ids = dict.fromkeys(find_request_ids(received) + find_carried_ids(received))
    if not ids:
        return content
    markers = " ".join(f"[{CARRIED_PREFIX}{i}]" for i in ids)
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        payload["carried"] = markers
        return orjson.dumps(payload).decode()
    return f"{content} {markers}"
