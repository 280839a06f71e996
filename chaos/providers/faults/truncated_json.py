"""``truncated_json``: a complete HTTP response whose JSON stops half way.

Unlike ``stream_cut`` the connection stays healthy: the bytes are well delimited, the document
is not. A stream sends its chunks, then a half chunk, and ends without ``[DONE]``.
"""

from __future__ import annotations

from aiohttp import web

from chaos.providers import openai_shape
from chaos.providers.call import UpstreamCall
from chaos.providers.faults.base import NoParams


class TruncatedJson:
    def __init__(self, params: NoParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        if call.stream:
            events = [call.chunk({"role": "assistant", "content": ""})]
            events += [call.chunk({"content": p}) for p in openai_shape.split_tokens(call.content)]
            last = call.chunk({}, finish_reason="stop")
            events.append(last[: len(last) // 2] + b"\n\n")
            call.record_usage(len(events) - 2, usage_sent=False, complete=False)
            return await call.sse(events)
        body = openai_shape.completion(
            completion_id=call.completion_id,
            model=call.model,
            content=call.content,
            prompt_tokens=openai_shape.count_prompt_tokens(call.body),
        )
        # The whole answer was generated; the caller got half of it (its usage unreadable).
        call.record_usage(len(openai_shape.split_tokens(call.content)), usage_sent=False,
                          complete=False)
        return await call.raw(body[: len(body) // 2])
