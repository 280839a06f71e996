"""``stream_cut``: the connection dies (RST) after ``after_chunks`` content chunks.

A non-streaming request gets its headers and half its body, then the same reset.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chaos.providers.call import UpstreamCall


class StreamCutParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    after_chunks: int = Field(2, ge=0, le=100_000)


class StreamCut:
    def __init__(self, params: StreamCutParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.answer(cut_after_chunks=self.params.after_chunks)
