"""The decision contract between callers and policies (DESIGN.md §3).

Every engine evaluates ``data.govchaos.gateway.decision`` over a :class:`DecisionInput` and
returns a :class:`Decision`. Both are frozen pydantic models; ``Decision.deny`` builds the
fail-closed answer used whenever an engine errors, times out or returns nothing.

>>> c = Candidate(id="m1", provider="p", hosting="private", region="eu-west-1")
>>> Decision.deny("policy engine timed out").allow
False
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DECISION_PATH = "govchaos/gateway/decision"
DECISION_QUERY = "data.govchaos.gateway.decision"

Hosting = Literal["private", "cloud", "edge"]


class Candidate(BaseModel):
    """A model the router could send this request to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    provider: str
    hosting: Hosting
    region: str
    version: str = ""
    cost_per_1k_tokens: float = 0.0
    healthy: bool = True
    tags: tuple[str, ...] = ()


class DecisionInput(BaseModel):
    """One request, as the policy sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    route: str
    tenant: str
    data_classes: tuple[str, ...] = ()
    region: str | None = None  # residency requirement, e.g. "eu"
    requested_model: str | None = None
    candidates: tuple[Candidate, ...] = ()
    max_tokens: int | None = None
    stream: bool = False


class Obligations(BaseModel):
    """Duties the caller must honour when it serves an allowed request."""

    model_config = ConfigDict(frozen=True, extra="allow")

    max_tokens: int | None = None
    log_prompts: bool = True
    redact: tuple[str, ...] = ()


class Decision(BaseModel):
    """The policy's answer. ``allowed`` is the only list a router may pick from."""

    model_config = ConfigDict(frozen=True, extra="allow")

    allow: bool
    allowed: tuple[str, ...] = ()
    denied: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    obligations: Obligations = Field(default_factory=Obligations)

    @classmethod
    def deny(cls, reason: str, **extra: Any) -> "Decision":
        """The fail-closed decision: nothing allowed, one reason saying why."""
        return cls(allow=False, allowed=(), reasons=(reason,), **extra)
