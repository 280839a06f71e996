"""``timeout``: swallow all data; close the connection after ``timeout`` milliseconds.

With ``timeout: 0`` the connection hangs (data is dropped, nothing is closed) until the toxic is
removed. As in Toxiproxy, removing a timeout toxic closes the connections it was holding rather
than letting the swallowed stream resume half-way — new connections then flow normally.
"""

from __future__ import annotations

import asyncio
import contextlib

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class TimeoutAttributes(ToxicAttributes):
    timeout: int = Field(
        default=0, ge=0, description="close after this many milliseconds; 0 = hang until removed"
    )


class TimeoutToxic:
    def __init__(self, attributes: TimeoutAttributes) -> None:
        self.timeout_s = attributes.timeout / 1000.0

    async def _swallow(self, stub: ToxicStub) -> None:
        while await stub.read() is not None:
            stub.drop()

    async def pipe(self, stub: ToxicStub) -> None:
        if self.timeout_s <= 0:
            await self._swallow(stub)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._swallow(stub), self.timeout_s)
        stub.close()


KIND = ToxicKind("timeout", TimeoutAttributes, TimeoutToxic, closes_on_removal=True)
