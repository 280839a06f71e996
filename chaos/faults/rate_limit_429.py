"""``rate_limit_429``: the upstream answers HTTP 429 with Retry-After."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class RateLimit429Params(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)
    retry_after_s: int = Field(1, ge=0, le=3600)


class RateLimit429(ProviderFault):
    name: ClassVar[str] = "rate_limit_429"
    params: ClassVar[type[FaultParams]] = RateLimit429Params
    summary: ClassVar[str] = "the upstream answers HTTP 429 with Retry-After"
    provider_kind: ClassVar[str] = "rate_limit_429"
