"""``hang``: accept the request and say nothing until the fault is cleared or replaced.

When released, the request is answered normally (the upstream has recovered); if the upstream is
killed or stopped meanwhile, the connection is dropped and the handler is cancelled.
"""

from __future__ import annotations

from aiohttp import web

from chaos.providers.call import UpstreamCall
from chaos.providers.faults.base import NoParams


class Hang:
    def __init__(self, params: NoParams) -> None:
        self.params = params

    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        await call.released.wait()
        return await call.answer()
