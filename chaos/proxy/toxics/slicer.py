"""``slicer``: cut each chunk into pieces of about ``average_size`` bytes.

Piece sizes vary by up to ``size_variation`` bytes either way and each piece is followed by a
``delay`` in microseconds — how a peer that writes in small TCP segments looks. Cut points come
from recursive halving (so pieces are evenly varied, with no small or large piece systematically
at the ends) and from the stage's seeded generator.
"""

from __future__ import annotations

import asyncio
import random

from pydantic import Field

from chaos.proxy.stub import ToxicStub
from chaos.proxy.toxics.base import ToxicAttributes, ToxicKind


class SlicerAttributes(ToxicAttributes):
    average_size: int = Field(default=0, ge=0, description="mean piece size, bytes")
    size_variation: int = Field(default=0, ge=0, description="+/- piece size variation, bytes")
    delay: int = Field(default=0, ge=0, description="pause after each piece, microseconds")


def cut_points(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Ascending offsets ``0 < ... < size`` ending at ``size`` where the chunk is cut."""
    if average <= 0:
        return [size]
    points: list[int] = []
    stack = [(0, size)]
    # Iterative halving, right half pushed first so points come out in order.
    while stack:
        start, end = stack.pop()
        if (end - start) - average <= variation:
            points.append(end)
            continue
        offset = rng.randint(-variation, variation) if variation else 0
        mid = min(end - 1, max(start + 1, start + (end - start) // 2 + offset))
        stack.append((mid, end))
        stack.append((start, mid))
    return points


class SlicerToxic:
    def __init__(self, attributes: SlicerAttributes) -> None:
        self.average = attributes.average_size
        self.variation = attributes.size_variation
        self.delay_s = attributes.delay / 1_000_000

    async def pipe(self, stub: ToxicStub) -> None:
        while (data := await stub.read()) is not None:
            start = 0
            for end in cut_points(len(data), self.average, self.variation, stub.rng):
                stub.write(data[start:end])
                start = end
                if self.delay_s > 0:
                    await asyncio.sleep(self.delay_s)


KIND = ToxicKind("slicer", SlicerAttributes, SlicerToxic)
