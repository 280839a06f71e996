"""``schema_violation``: the upstream returns content that violates the route's response schema."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.faults._provider import ProviderFault
from chaos.faults.base import FaultParams


class SchemaViolationParams(FaultParams):
    probability: float = Field(1.0, ge=0, le=1)


class SchemaViolation(ProviderFault):
    name: ClassVar[str] = "schema_violation"
    params: ClassVar[type[FaultParams]] = SchemaViolationParams
    summary: ClassVar[str] = "the upstream returns content that violates the route's response schema"
    provider_kind: ClassVar[str] = "schema_violation"
