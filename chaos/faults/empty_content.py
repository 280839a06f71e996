"""``empty_content``: the upstream returns a completion with empty content."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class EmptyContentParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)


class EmptyContent(ProviderFault):
    name: ClassVar[str] = "empty_content"
    params: ClassVar[type[FaultParams]] = EmptyContentParams
    summary: ClassVar[str] = "the upstream returns a completion with empty content"
    provider_kind: ClassVar[str] = "empty_content"
