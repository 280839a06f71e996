"""The decision contract between callers and policies (DESIGN.md §3).

Every engine evaluates ``data.govchaos.gateway.decision`` over a :class:`DecisionInput` and
returns a :class:`Decision`. Both are frozen pydantic models; ``Decision.deny`` builds the
fail-closed answer used whenever an engine errors, times out or returns nothing.

>>> c = Candidate(id="m1", provider="p", hosting="private", region="eu-west-1")
>>> Decision.deny("policy engine timed out").allow
False
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

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


class BudgetState(BaseModel):
    """One spend budget that applies to a request (docs/authoring-policies.md, "Budgets"):
    dollars spent in the sliding hour, the hourly limit, and the share of it left (0..1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spent_usd: float
    limit_usd: float
    remaining_ratio: float


BudgetScope = Literal["tenant", "route"]


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
    # the budgets that apply, by scope (absent scopes have none); None: no budget applies
    budget: dict[BudgetScope, BudgetState] | None = None


def _whole_number(value: Any) -> Any:
    # Rego has one number type: 1024 may arrive as 1024.0 from an engine. Anything else that is
    # not an int (a string, a bool, 1024.5) is left for the strict int check to reject.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TokenCap = Annotated[int, BeforeValidator(_whole_number), Field(strict=True, ge=1)]


class Obligations(BaseModel):
    """Duties the caller must honour when it serves an allowed request.

    Exactly these keys, exactly these types: an obligation the gateway does not know is one it
    cannot honour, so it makes the decision invalid (fail closed) rather than being dropped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: TokenCap | None = None
    log_prompts: StrictBool = True
    redact: tuple[StrictStr, ...] = ()


class Decision(BaseModel):
    """The policy's answer. ``allowed`` is the only list a router may pick from.

    The contract is exact (ARCHITECTURE.md, "Decision contract"): ``allow`` is a JSON boolean
    (never ``"yes"`` or ``1``), ids and reasons are strings, there are no other keys, and
    ``allow`` agrees with ``allowed`` (true exactly when it is non-empty; no id both allowed
    and denied). An engine result that does not fit is ``policy_output_invalid``, a deny.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: StrictBool
    allowed: tuple[StrictStr, ...] = ()
    denied: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    reasons: tuple[StrictStr, ...] = ()
    obligations: Obligations = Field(default_factory=Obligations)

    @classmethod
    def deny(cls, reason: str, **extra: Any) -> "Decision":
        """The fail-closed decision: nothing allowed, one reason saying why.

        Its obligations are the strictest (no prompt logging): when the policy gave no usable
        answer, nobody knows which duties it would have imposed.
        """
        extra.setdefault("obligations", _FAIL_CLOSED_OBLIGATIONS)
        return cls(allow=False, allowed=(), reasons=(reason,), **extra)


_FAIL_CLOSED_OBLIGATIONS = Obligations(log_prompts=False)


def contract_violation(decision: Decision) -> str | None:
    """Why a well-typed decision is still self-contradictory, or None."""
    if decision.allow and not decision.allowed:
        return "allow is true but allowed is empty"  # the router could pick nothing
    if not decision.allow and decision.allowed:
        return "allow is false but allowed is not empty"
    both = sorted(set(decision.allowed) & set(decision.denied))
    if both:
        return f"{both[0]!r} is both allowed and denied"
    return None
