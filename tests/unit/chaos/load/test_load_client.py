"""How the client classifies an SSE stream (table of byte-exact streams)."""

from __future__ import annotations

import pytest

from chaos.load.client import Outcome, _read_stream, _retry_after_s

CHUNK = b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'
DONE = b"data: [DONE]\n\n"


class _Content:
    def __init__(self, raw: bytes) -> None:
        self._lines = raw.splitlines(keepends=True)

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        for line in self._lines:
            yield line


class _Response:
    def __init__(self, raw: bytes) -> None:
        self.content = _Content(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (CHUNK + CHUNK + DONE, None),
        (b": keep-alive comment\n\n" + CHUNK + DONE, None),
        (CHUNK.replace(b"\n\n", b"\r\n\r\n") + DONE, None),
        (CHUNK, "stream_incomplete"),
        (b"", "stream_incomplete"),
        (CHUNK + b'data: {"error": {"message": "boom"}}\n\n' + DONE, "stream_error"),
        (CHUNK + b"event: error\ndata: {}\n\n" + DONE, "stream_error"),
        (CHUNK + b"data: {not json\n\n" + DONE, "invalid_chunk"),
        (CHUNK + DONE + CHUNK, "stream_error"),
    ],
)
async def test_stream_classification(raw: bytes, expected: str | None) -> None:
    outcome = Outcome(status=200)
    assert await _read_stream(_Response(raw), outcome) == expected
    if raw:
        assert outcome.first_event_at is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0.5", 0.5), (None, None), ("", None), ("-1", None), ("nan", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert _retry_after_s(value) == expected


def test_render_request_marks_the_prompt_with_the_request_id() -> None:
    import orjson
    from pydantic import SecretStr

    from chaos.load.client import render_request
    from chaos.load.models import PlannedRequest, RouteMix
    from chaos.markers import find_request_ids

    entry = RouteMix(route="claims-triage", tenant="acme-health", api_key=SecretStr("k"))
    planned = PlannedRequest(index=3, request_id="abc-3", offset_s=0.0, mix_index=0,
                             route="claims-triage", tenant="acme-health",
                             data_classes=("pii",), region=None, stream=False)
    headers, raw = render_request(planned, entry)
    body = orjson.loads(raw)
    content = body["messages"][0]["content"]
    assert content.startswith(entry.prompt)
    assert find_request_ids(content) == ("abc-3",)
    assert headers["X-Govchaos-Request-Id"] == "abc-3" and body["user"] == "govchaos:abc-3"


@pytest.mark.parametrize("raw, expected", [
    (b'{"error": {"message": "m", "type": "rate_limit_error", "code": "budget_exceeded"}}',
     "budget_exceeded"),
    (b'{"error": {"message": "m", "code": null}}', None),
    (b'{"error": "flat"}', None),
    (b'not json', None),
    (b'[1]', None),
])
def test_error_code_of_an_error_body(raw: bytes, expected: str | None) -> None:
    from chaos.load.client import _error_code

    assert _error_code(raw) == expected
