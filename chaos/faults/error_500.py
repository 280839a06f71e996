"""``error_500``: the upstream answers HTTP 500 with the given probability."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class Error500Params(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)


class Error500(ProviderFault):
    name: ClassVar[str] = "error_500"
    params: ClassVar[type[FaultParams]] = Error500Params
    summary: ClassVar[str] = "the upstream answers HTTP 500 with the given probability"
    provider_kind: ClassVar[str] = "error_500"
