"""``CompiledEngine``: the compile-once / evaluate-many skeleton shared by embedded engines.

A subclass supplies two stages, like OPA's prepare/eval split:

- ``_compile(bundle) -> state`` builds everything evaluation needs (may raise
  :class:`~governance.errors.PolicyCompileError`); it runs before any swap, so a failed reload
  leaves the old policy in force;
- ``_evaluate(state, input_json) -> value`` evaluates ``data.govchaos.gateway.decision`` for the
  canonical input JSON and returns the decoded value (``None`` when undefined).

This class adds the decision cache, the fail-closed translation and the atomic swap: the
compiled state, the bundle and the cache policy live in one tuple replaced by one assignment.
"""

from __future__ import annotations

from typing import Any, ClassVar

from governance.decision import DECISION_QUERY, Decision, DecisionInput

from governance.engine.bundle import PolicyBundle
from governance.engine.cache import DecisionCache, uses_nondeterminism
from governance.engine.protocol import (
    FAIL_CLOSED_PREFIXES,
    canonical_input,
    decision_from_value,
    engine_error_decision,
)

ENTRY_POINT = DECISION_QUERY


class CompiledEngine:
    """Base of the embedded engines. Not thread-safe: use it from one event loop."""

    kind: ClassVar[str] = "abstract"

    def __init__(
        self, bundle: PolicyBundle, *, cache: bool = True, cache_size: int = 10_000
    ) -> None:
        self._cache_enabled = cache
        self._cache = DecisionCache(cache_size)
        self._current = self._prepare(bundle)

    # -- lifecycle -------------------------------------------------------------------------
    def _prepare(self, bundle: PolicyBundle) -> tuple[Any, PolicyBundle, bool]:
        state = self._compile(bundle)
        cacheable = self._cache_enabled and not uses_nondeterminism(bundle.decision_modules)
        return (state, bundle, cacheable)

    async def reload(self, bundle: PolicyBundle) -> None:
        """Compile ``bundle`` fully, then swap it in and clear the cache.

        Raises:
            PolicyCompileError: the new bundle does not compile; the old one stays in force.
        """
        prepared = self._prepare(bundle)
        self._current = prepared  # the one atomic swap
        self._cache.clear()

    async def close(self) -> None:
        self._cache.clear()

    async def __aenter__(self) -> "CompiledEngine":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def bundle(self) -> PolicyBundle:
        return self._current[1]

    @property
    def cacheable(self) -> bool:
        """Whether decisions are cached (False when the policy is non-deterministic)."""
        return self._current[2]

    @property
    def cache(self) -> DecisionCache:
        return self._cache

    # -- hot path --------------------------------------------------------------------------
    async def decide(self, inp: DecisionInput) -> Decision:
        """Evaluate the decision for ``inp``; never raises (fail closed)."""
        return self.decide_json(canonical_input(inp))

    def decide_json(self, key: bytes) -> Decision:
        """Synchronous core of :meth:`decide` for callers holding canonical input JSON."""
        state, _, cacheable = current = self._current
        if cacheable:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        try:
            value = self._evaluate(state, key)
        except Exception as exc:  # any engine failure is a deny, never a crash of the caller
            return engine_error_decision(exc)
        decision = decision_from_value(value)
        # Cache only real policy answers, and only if no reload happened meanwhile.
        if cacheable and current is self._current and not _failed_closed(decision):
            self._cache.put(key, decision)
        return decision

    # -- for subclasses --------------------------------------------------------------------
    def _compile(self, bundle: PolicyBundle) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _evaluate(self, state: Any, input_json: bytes) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _failed_closed(decision: Decision) -> bool:
    if decision.allow or len(decision.reasons) != 1:
        return False
    return decision.reasons[0].startswith(FAIL_CLOSED_PREFIXES)
