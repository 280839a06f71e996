"""``limit_data``: let ``bytes`` bytes through, then close the connection.

The count is kept per connection and direction and survives an update of the toxic (so raising
the limit on a live connection lets it continue from where it was), as in Toxiproxy.
"""

from __future__ import annotations

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class LimitDataAttributes(ToxicAttributes):
    bytes: int = Field(default=0, ge=0, description="bytes let through before closing")


class LimitDataToxic:
    def __init__(self, attributes: LimitDataAttributes) -> None:
        self.limit = attributes.bytes

    async def pipe(self, stub: ToxicStub) -> None:
        sent: int = stub.state.setdefault("bytes_sent", 0)
        while (data := await stub.read()) is not None:
            remaining = max(0, self.limit - sent)
            piece = data[:remaining]
            stub.write(piece)
            sent += len(piece)
            stub.state["bytes_sent"] = sent
            if sent >= self.limit:
                stub.drop()
                stub.close()
                return


KIND = ToxicKind("limit_data", LimitDataAttributes, LimitDataToxic)
