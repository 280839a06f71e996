"""``CompiledEngine``: the compile-once / evaluate-many skeleton shared by embedded engines.

A subclass supplies two stages, like OPA's prepare/eval split:

- ``_compile(bundle) -> state`` builds everything evaluation needs (may raise
  :class:`~governance.errors.PolicyCompileError`);
- ``_evaluate(state, input_json) -> value`` evaluates ``data.govchaos.gateway.decision`` for the
  canonical input JSON and returns the decoded value (``None`` when undefined).

This class adds the static checks every bundle must pass before any engine sees it
(recursion, conflicting definitions, the entry point: :mod:`governance.engine.rego_graph`),
the decision cache, the fail-closed translation and the atomic swap: the compiled state, the
bundle and the cache policy live in one tuple replaced by one assignment.

**Isolation** (``isolation="process"``, the default): both stages run in child processes
(:mod:`governance.engine.isolation`), because the native engines cannot be interrupted — a
pathological policy or input must cost one ``policy_timeout`` deny, not a stalled event loop
or a crashed gateway. Compiling is bounded by ``compile_timeout_s`` and ``memory_mb``, each
decision by ``decision_timeout_ms``. ``isolation="inline"`` evaluates in this process with no
time bound: it is what the child itself runs, and what benchmarks use to measure the engine.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

from governance.decision import DECISION_QUERY, Decision, DecisionInput

from governance.engine.bundle import PolicyBundle
from governance.engine.cache import DecisionCache, uses_nondeterminism
from governance.engine.isolation import (
    DEFAULT_COMPILE_TIMEOUT_S,
    DEFAULT_MEMORY_MB,
    CompileSpec,
    EvaluationError,
    EvaluationPool,
)
from governance.engine.protocol import (
    FAIL_CLOSED_PREFIXES,
    canonical_input,
    decision_from_value,
    engine_error_decision,
)

ENTRY_POINT = DECISION_QUERY
# Library default; the gateway passes its own `policy.decision_timeout_ms` (50 ms by default).
DEFAULT_DECISION_TIMEOUT_MS = 1000.0

Isolation = Literal["process", "inline"]


class CompiledEngine:
    """Base of the embedded engines. Not thread-safe: use it from one event loop."""

    kind: ClassVar[str] = "abstract"
    # An engine whose own compiler finds recursion (OPA) compiles first, so its messages win;
    # the regorus-based static checks then run for what it leaves to evaluation time
    # (conflicting definitions, the entry point), skipped for syntax regorus cannot parse.
    compiler_checks_first: ClassVar[bool] = False

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        cache: bool = True,
        cache_size: int = 10_000,
        isolation: Isolation = "process",
        decision_timeout_ms: float = DEFAULT_DECISION_TIMEOUT_MS,
        workers: int = 2,
        compile_timeout_s: float = DEFAULT_COMPILE_TIMEOUT_S,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        if isolation not in ("process", "inline"):
            raise ValueError(f"isolation must be process or inline, not {isolation!r}")
        if not decision_timeout_ms > 0:
            raise ValueError("decision_timeout_ms must be positive")
        self.isolation = isolation
        self.decision_timeout_ms = float(decision_timeout_ms)
        self._workers = workers
        self._compile_timeout_s = compile_timeout_s
        self._memory_mb = memory_mb
        self._cache_enabled = cache
        self._cache = DecisionCache(cache_size)
        if not hasattr(self, "backend"):
            self.backend = ""
        self._current = self._prepare(bundle)

    # -- lifecycle -------------------------------------------------------------------------
    def _prepare(self, bundle: PolicyBundle) -> tuple[Any, PolicyBundle, bool]:
        if self.isolation == "process":
            state: Any = EvaluationPool(
                self._spec(bundle), workers=self._workers,
                decision_timeout_s=self.decision_timeout_ms / 1000.0,
                compile_timeout_s=self._compile_timeout_s, memory_mb=self._memory_mb,
            )
            self.backend = state.backend
        else:
            from governance.engine.regorus_engine import check_static

            if self.compiler_checks_first:
                state = self._compile(bundle)
                try:
                    check_static(bundle.decision_modules, require=(ENTRY_POINT,),
                                 tolerate_syntax=True)
                except BaseException:
                    _close_state(state)
                    raise
            else:
                check_static(bundle.decision_modules, require=(ENTRY_POINT,))
                state = self._compile(bundle)
        cacheable = self._cache_enabled and not uses_nondeterminism(bundle.decision_modules)
        return (state, bundle, cacheable)

    def _spec(self, bundle: PolicyBundle) -> CompileSpec:
        cls = type(self)
        return CompileSpec(
            engine=f"{cls.__module__}:{cls.__qualname__}", root=bundle.root,
            modules=tuple((m.path, m.source) for m in bundle.decision_modules),
            data_json=bundle.data_json, options=self._child_options(),
        )

    def _child_options(self) -> dict[str, Any]:
        """Constructor options a child needs to build the same engine (JSON values)."""
        return {}

    async def reload(self, bundle: PolicyBundle) -> None:
        """Compile ``bundle`` fully, then swap it in and clear the cache.

        Raises:
            PolicyCompileError: the new bundle does not compile; the old one stays in force.
        """
        if self.isolation == "process":
            prepared = await asyncio.to_thread(self._prepare, bundle)  # never on the loop
        else:
            prepared = self._prepare(bundle)
        old = self._current
        self._current = prepared  # the one atomic swap
        self._cache.clear()
        _close_state(old[0])

    async def close(self) -> None:
        self._cache.clear()
        _close_state(self._current[0])

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

    @property
    def pool(self) -> EvaluationPool | None:
        """The child processes evaluating decisions (None with ``isolation="inline"``)."""
        state = self._current[0]
        return state if isinstance(state, EvaluationPool) else None

    # -- hot path --------------------------------------------------------------------------
    async def decide(self, inp: DecisionInput) -> Decision:
        """Evaluate the decision for ``inp``; never raises (fail closed)."""
        key = canonical_input(inp)
        state, _, cacheable = current = self._current
        if not isinstance(state, EvaluationPool):
            return self.decide_json(key)
        if cacheable:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        try:
            value = await state.evaluate(key)
        except EvaluationError as exc:
            return Decision.deny(f"{exc.reason}: {exc}")
        except Exception as exc:  # any failure is a deny, never a crash of the caller
            return engine_error_decision(exc)
        decision = decision_from_value(value)
        # Cache only real policy answers, and only if no reload happened meanwhile.
        if cacheable and current is self._current and not _failed_closed(decision):
            self._cache.put(key, decision)
        return decision

    def decide_json(self, key: bytes) -> Decision:
        """Synchronous :meth:`decide` for canonical input JSON (``isolation="inline"`` only:
        differential tests and benchmarks of the engine itself).

        Raises:
            TypeError: the engine evaluates in child processes (use :meth:`decide`).
        """
        state, _, cacheable = current = self._current
        if isinstance(state, EvaluationPool):
            raise TypeError("decide_json needs isolation='inline'; use await decide()")
        if cacheable:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        try:
            value = self._evaluate(state, key)
        except Exception as exc:
            return engine_error_decision(exc)
        decision = decision_from_value(value)
        if cacheable and current is self._current and not _failed_closed(decision):
            self._cache.put(key, decision)
        return decision

    def evaluate_raw(self, input_json: bytes) -> Any:
        """The raw decision value, evaluated in this process (what a child runs per request)."""
        return self._evaluate(self._current[0], input_json)

    # -- for subclasses --------------------------------------------------------------------
    def _compile(self, bundle: PolicyBundle) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _evaluate(self, state: Any, input_json: bytes) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _close_state(state: Any) -> None:
    close = getattr(state, "close", None)
    if callable(close) and not asyncio.iscoroutinefunction(close):
        close()


def _failed_closed(decision: Decision) -> bool:
    if decision.allow or len(decision.reasons) != 1:
        return False
    return decision.reasons[0].startswith(FAIL_CLOSED_PREFIXES)
