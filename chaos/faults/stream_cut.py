"""``stream_cut``: the upstream cuts SSE streams after a few chunks."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class StreamCutParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)
    after_chunks: int = Field(2, ge=0, le=10_000)


class StreamCut(ProviderFault):
    name: ClassVar[str] = "stream_cut"
    params: ClassVar[type[FaultParams]] = StreamCutParams
    summary: ClassVar[str] = "the upstream cuts SSE streams after a few chunks"
    provider_kind: ClassVar[str] = "stream_cut"
