"""``hang``: the upstream accepts the request and never answers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class HangParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)


class Hang(ProviderFault):
    name: ClassVar[str] = "hang"
    params: ClassVar[type[FaultParams]] = HangParams
    summary: ClassVar[str] = "the upstream accepts the request and never answers"
    provider_kind: ClassVar[str] = "hang"
