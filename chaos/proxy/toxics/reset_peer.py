"""``reset_peer``: when data arrives, wait ``timeout`` milliseconds, then reset the connection.

The reset is a real TCP RST on both sockets (``SO_LINGER`` with a zero timeout, then close), so
the peers see "connection reset by peer" rather than an orderly close. Like Toxiproxy, the data
that triggered it is dropped, and an ending source triggers it as well.
"""

from __future__ import annotations

import asyncio

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class ResetPeerAttributes(ToxicAttributes):
    timeout: int = Field(default=0, ge=0, description="delay before the RST, milliseconds")


class ResetPeerToxic:
    def __init__(self, attributes: ResetPeerAttributes) -> None:
        self.timeout_s = attributes.timeout / 1000.0

    async def pipe(self, stub: ToxicStub) -> None:
        await stub.read()
        stub.drop()
        if self.timeout_s > 0:
            await asyncio.sleep(self.timeout_s)
        stub.reset()


KIND = ToxicKind("reset_peer", ResetPeerAttributes, ResetPeerToxic)
