"""``bandwidth``: limit throughput to ``rate`` kilobytes (1,000 bytes) per second.

Each chunk is written and then followed by the time it "costs" at that rate; chunks worth more
than 100 ms are cut into 100 ms pieces so the stream trickles rather than bursts. The deficit of
an oversleep is carried over so long transfers converge on the configured rate. ``rate: 0``
means unlimited, as in Toxiproxy.
"""

from __future__ import annotations

import asyncio

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind

_SLICE_S = 0.1


class BandwidthAttributes(ToxicAttributes):
    rate: int = Field(default=0, ge=0, description="throughput limit, KB/s (1 KB = 1000 bytes)")


class BandwidthToxic:
    def __init__(self, attributes: BandwidthAttributes) -> None:
        self.bytes_per_s = attributes.rate * 1000

    async def pipe(self, stub: ToxicStub) -> None:
        loop = asyncio.get_running_loop()
        slice_bytes = max(1, int(self.bytes_per_s * _SLICE_S))
        # Time when the bytes sent so far are "paid for"; sleeping to it avoids drift.
        due = loop.time()
        while (data := await stub.read()) is not None:
            if self.bytes_per_s <= 0:
                stub.write(data)
                continue
            due = max(due, loop.time())
            for start in range(0, len(data), slice_bytes):
                piece = data[start : start + slice_bytes]
                stub.write(piece)
                due += len(piece) / self.bytes_per_s
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)


KIND = ToxicKind("bandwidth", BandwidthAttributes, BandwidthToxic)
