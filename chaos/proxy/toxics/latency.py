"""``latency``: delay every chunk by ``latency`` ± ``jitter`` milliseconds.

The delay counts from when the proxy received the chunk, so a steady stream is shifted in time
rather than slowed down (chunks are not delayed cumulatively). Jitter is drawn uniformly from
``[-jitter, +jitter]`` with the stage's seeded generator, per chunk.
"""

from __future__ import annotations

import asyncio

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class LatencyAttributes(ToxicAttributes):
    latency: int = Field(default=0, ge=0, description="added delay, milliseconds")
    jitter: int = Field(default=0, ge=0, description="uniform +/- variation, milliseconds")


class LatencyToxic:
    def __init__(self, attributes: LatencyAttributes) -> None:
        self.latency_s = attributes.latency / 1000.0
        self.jitter_s = attributes.jitter / 1000.0

    def delay_s(self, stub: ToxicStub) -> float:
        if self.jitter_s <= 0:
            return self.latency_s
        return max(0.0, self.latency_s + stub.rng.uniform(-self.jitter_s, self.jitter_s))

    async def pipe(self, stub: ToxicStub) -> None:
        loop = asyncio.get_running_loop()
        while (data := await stub.read()) is not None:
            wait = stub.received_at + self.delay_s(stub) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            stub.write(data)


KIND = ToxicKind("latency", LatencyAttributes, LatencyToxic)
