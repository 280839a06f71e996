"""``error_500``: answer with a server error (OpenAI error body), immediately."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chaos.providers.call import UpstreamCall


class UpstreamError500Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status_code: int = Field(500, ge=500, le=599)


class Error500:
    def __init__(self, params: UpstreamError500Params) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.error(
            self.params.status_code,
            "The server had an error while processing your request (simulated).",
            error_type="server_error",
        )
