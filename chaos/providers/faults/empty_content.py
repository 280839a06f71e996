"""``empty_content``: a well-formed answer whose message content is the empty string."""

from __future__ import annotations

from aiohttp import web

from chaos.providers.call import UpstreamCall
from chaos.providers.faults.base import NoParams


class EmptyContent:
    def __init__(self, params: NoParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        return await call.answer(content="")
