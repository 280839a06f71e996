"""``slow_stream``: the upstream streams tokens slowly."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class SlowStreamParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)
    per_token_ms: int = Field(200, ge=0, le=60_000)


class SlowStream(ProviderFault):
    name: ClassVar[str] = "slow_stream"
    params: ClassVar[type[FaultParams]] = SlowStreamParams
    summary: ClassVar[str] = "the upstream streams tokens slowly"
    provider_kind: ClassVar[str] = "slow_stream"
