"""The ``PolicyEngine`` protocol and the helpers every engine shares on its hot path.

    engine = create_engine("regorus", load_bundle("policies"))
    decision = await engine.decide(DecisionInput(route="customer-chat", tenant="globex-retail"))

Contract for implementations:

- ``decide`` never raises for a problem in evaluation: an engine error, a timeout, an undefined
  decision or an output that does not fit :class:`~governance.decision.Decision` all become
  ``Decision.deny(reason)`` whose reason says which (fail closed, DESIGN.md §3);
- ``reload(bundle)`` compiles the new bundle fully before swapping it in (atomic), and raises
  :class:`~governance.errors.PolicyCompileError` leaving the old policy in force when it fails;
- ``close()`` releases sockets/processes; engines are also async context managers.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import orjson
from pydantic import BaseModel, ValidationError

from governance.decision import Decision, DecisionInput, contract_violation

from governance.engine.bundle import PolicyBundle

# Reasons of fail-closed decisions; stable strings so reports and tests can match them.
REASON_UNDEFINED = "policy_undefined: data.govchaos.gateway.decision is undefined for this input"
REASON_ERROR = "policy_engine_error"
REASON_TIMEOUT = "policy_timeout"
REASON_INVALID = "policy_output_invalid"
REASON_UNAVAILABLE = "policy_engine_unavailable"
FAIL_CLOSED_PREFIXES = (
    REASON_UNDEFINED,
    REASON_ERROR,
    REASON_TIMEOUT,
    REASON_INVALID,
    REASON_UNAVAILABLE,
)


@runtime_checkable
class PolicyEngine(Protocol):
    """One required method: answer a decision (fail closed)."""

    async def decide(self, inp: DecisionInput) -> Decision: ...


def _default(obj: Any) -> Any:
    # Our own frozen models were validated when built: serialise their fields directly instead
    # of paying for model_dump (3x slower on the hot path).
    if isinstance(obj, BaseModel):
        return obj.__dict__
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def canonical_input(inp: DecisionInput | dict[str, Any]) -> bytes:
    """Sorted-keys JSON of a decision input: the engines' input and the decision cache key."""
    target = inp.__dict__ if isinstance(inp, BaseModel) else inp
    return orjson.dumps(target, default=_default, option=orjson.OPT_SORT_KEYS)


def decision_from_value(value: Any) -> Decision:
    """Validate an engine's raw result as a Decision; anything else is a fail-closed deny."""
    if value is None:
        return Decision.deny(REASON_UNDEFINED)
    if not isinstance(value, dict):
        return Decision.deny(f"{REASON_INVALID}: decision is {type(value).__name__}, not an object")
    try:
        decision = Decision.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "decision"
        got = first.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r:.60})"
        return Decision.deny(f"{REASON_INVALID}: {where}: {first.get('msg', 'invalid')}{shown}")
    problem = contract_violation(decision)
    if problem is not None:
        return Decision.deny(f"{REASON_INVALID}: {problem}")
    return decision


def engine_error_decision(exc: BaseException) -> Decision:
    from governance.engine.rego_errors import strip_backtrace

    text = strip_backtrace(str(exc)).replace("\n", " ")[:300]
    return Decision.deny(f"{REASON_ERROR}: {type(exc).__name__}: {text}")


class BundleBound(Protocol):
    """Engines that hold a compiled bundle expose it (the harness records its digest)."""

    @property
    def bundle(self) -> PolicyBundle: ...
