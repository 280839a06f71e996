"""``rate_limit_429``: answer 429 with ``Retry-After`` (whole seconds), immediately."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chaos.providers.call import UpstreamCall


class RateLimitParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    retry_after_s: int = Field(1, ge=0, le=3600)


class RateLimit429:
    def __init__(self, params: RateLimitParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.error(
            429,
            "Rate limit reached for requests (simulated).",
            error_type="requests",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(self.params.retry_after_s)},
        )
