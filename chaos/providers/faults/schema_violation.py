"""``schema_violation``: valid OpenAI shape, but the content is not the JSON the route expects.

The default content is prose (not JSON at all); ``content`` lets a scenario send JSON of the
wrong shape instead (e.g. ``{"verdict": 3}``).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chaos.providers.call import UpstreamCall


class SchemaViolationParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str = Field(
        "Sure! Here is my answer in plain prose instead of the JSON you asked for.",
        max_length=100_000,
    )


class SchemaViolation:
    def __init__(self, params: SchemaViolationParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.answer(content=self.params.content)
