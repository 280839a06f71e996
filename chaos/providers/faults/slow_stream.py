"""``slow_stream``: tokens come ``per_token_ms`` apart (a non-streaming answer waits the sum)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chaos.providers.call import UpstreamCall


class SlowStreamParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    per_token_ms: float = Field(200.0, ge=0, le=60_000)


class SlowStream:
    def __init__(self, params: SlowStreamParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.answer(per_token_ms=self.params.per_token_ms)
