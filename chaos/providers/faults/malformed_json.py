"""``malformed_json``: a 200 whose body (or a stream's chunk) is not JSON at all."""

from __future__ import annotations

from aiohttp import web

from chaos.providers.call import UpstreamCall
from chaos.providers.faults.base import NoParams

_GARBAGE = b'{"id": "chatcmpl-sim", "object": "chat.completion", choices: [<<not json>>'


class MalformedJson:
    def __init__(self, params: NoParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        if call.stream:
            # Role chunk is fine; the next event is garbage; the stream still ends with [DONE].
            role = call.chunk({"role": "assistant", "content": ""})
            return await call.sse([role, b"data: " + _GARBAGE + b"\n\n", b"data: [DONE]\n\n"])
        return await call.raw(_GARBAGE)
