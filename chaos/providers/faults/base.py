"""The fault-behaviour seam: one method, one implementation per module.

A behaviour turns an :class:`~chaos.providers.call.UpstreamCall` into a response. Concerns shared
by every kind live in :class:`ActiveFault`, not in each behaviour: ``rate`` (the probability,
0..1, that a request is affected; drawn from the upstream's seeded RNG), the outcome name logged
for affected requests, and the parameters as given (for the report and the control API).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from chaos.providers.call import UpstreamCall


@runtime_checkable
class FaultBehaviour(Protocol):
    async def respond(self, call: UpstreamCall) -> web.StreamResponse:
        """Produce the (faulty) response for one request."""
        ...


class NoParams(BaseModel):
    """Parameters of a kind that takes none (``rate`` is handled by :class:`ActiveFault`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class ActiveFault:
    """A configured fault on one upstream."""

    kind: str
    rate: float
    params: BaseModel
    behaviour: FaultBehaviour

    def applies(self, rng: random.Random) -> bool:
        """Whether this request is affected (always at rate 1; never at rate 0)."""
        if self.rate >= 1.0:
            return True
        if self.rate <= 0.0:
            return False
        return rng.random() < self.rate

    def describe(self) -> dict[str, Any]:
        """``{"kind": ..., "params": {...}}`` with ``rate`` folded into the params."""
        return {"kind": self.kind, "params": {"rate": self.rate, **self.params.model_dump()}}
