"""``slow_close``: when the source ends, wait ``delay`` milliseconds before closing.

Data flows untouched; only the close (the FIN towards the destination) is held back, which is
what a peer that lingers before hanging up looks like.
"""

from __future__ import annotations

import asyncio

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class SlowCloseAttributes(ToxicAttributes):
    delay: int = Field(default=0, ge=0, description="delay before closing, milliseconds")


class SlowCloseToxic:
    def __init__(self, attributes: SlowCloseAttributes) -> None:
        self.delay_s = attributes.delay / 1000.0

    async def pipe(self, stub: ToxicStub) -> None:
        while (data := await stub.read()) is not None:
            stub.write(data)
        await asyncio.sleep(self.delay_s)
        stub.close()


KIND = ToxicKind("slow_close", SlowCloseAttributes, SlowCloseToxic)
