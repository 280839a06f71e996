"""The policy gate: ask the policy about a request, audit the decision, return the plan.

Invariant (DESIGN.md §5.1): the only upstreams ever attempted for a request are those of its
route whose ``model`` is in that request's ``decision.allowed`` — the plan
:meth:`PolicyGate.decide` returns; retries and hedges draw from the same plan.

The engine fails closed (:mod:`governance.engine.protocol`); so does the gate around it: an
engine that raises, times out or returns no :class:`~governance.decision.Decision` is a deny
whose reason starts with one of the fail-closed prefixes, and those render as 503 (an outage,
not a verdict), never as 403.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from gateway.budget import BudgetBook
from gateway.errors import BudgetExceeded, NoUpstreamAvailable, PolicyDenied, PolicyUnavailable
from gateway.ids import new_id, now_iso
from gateway.ledger import AttemptLedger, Outcome, retry_after_s
from gateway.metrics import GatewayMetrics
from gateway.request import ChatRequest  # validated before it gets here (gateway.request)
from gateway.route import RouteRuntime
from gateway.upstream import Upstream
from governance.decision import DECISION_PATH, Candidate, Decision, DecisionInput
from governance.engine.protocol import (
    FAIL_CLOSED_PREFIXES,
    REASON_ERROR,
    REASON_INVALID,
    REASON_TIMEOUT,
    REASON_UNDEFINED,
    PolicyEngine,
)


BUDGET_EXCEEDED = "budget_exceeded:"  # the reason prefix the gateway answers with 429


class PolicyGate:
    def __init__(self, engine: PolicyEngine, routes: Mapping[str, RouteRuntime], *,
                 ledger: AttemptLedger, metrics: GatewayMetrics, clock: Callable[[], float],
                 engine_name: str, decision_timeout_s: float,
                 enforce_decision_timeout: bool = True,
                 budgets: BudgetBook | None = None) -> None:
        self.engine = engine
        self.budgets = budgets
        self.routes = routes
        self.ledger = ledger
        self.metrics = metrics
        self.clock = clock
        self.engine_name = engine_name
        self.decision_timeout_s = decision_timeout_s
        # Embedded engines evaluate synchronously inside ``decide``: a timeout could not
        # interrupt them, only cost a timer per request. Remote engines (OPA) need it.
        self.enforce_decision_timeout = enforce_decision_timeout
        self._dumped: dict[int, tuple[Decision, dict[str, Any]]] = {}
        self._policy_cache: tuple[Any, dict[str, Any]] = (None, {})

    def _decision_dump(self, decision: Decision) -> dict[str, Any]:
        # Engines hand back the same cached Decision object for a repeated input: dump it once.
        hit = self._dumped.get(id(decision))
        if hit is not None and hit[0] is decision:
            return hit[1]
        if len(self._dumped) > 4096:
            self._dumped.clear()
        dumped = decision.model_dump(mode="json")
        self._dumped[id(decision)] = (decision, dumped)
        return dumped

    def _policy_info(self) -> dict[str, Any]:
        """The engine and bundle digest in force (one dict per bundle: compacted per segment)."""
        bundle = getattr(self.engine, "bundle", None)
        digest = getattr(bundle, "digest", None)
        if self._policy_cache[0] != digest or not self._policy_cache[1]:
            self._policy_cache = (digest, {"engine": self.engine_name, "bundle_digest": digest})
        return self._policy_cache[1]

    async def _ask(self, inp: DecisionInput) -> tuple[Decision, str | None, float]:
        """The engine's decision, the gate's own fail-closed reason (if any) and its latency."""
        t = time.perf_counter()
        failure = None
        decision: Decision | None = None
        try:
            if self.enforce_decision_timeout:
                async with asyncio.timeout(self.decision_timeout_s):
                    decision = await self.engine.decide(inp)
            else:
                decision = await self.engine.decide(inp)
        except TimeoutError:
            failure = f"{REASON_TIMEOUT}: no decision within decision_timeout_ms"
        except Exception as exc:  # fail closed on anything the engine throws
            failure = f"{REASON_ERROR}: {type(exc).__name__}"
        dt = time.perf_counter() - t
        self.metrics.decision.observe(dt)
        if decision is not None and not isinstance(decision, Decision):
            failure, decision = f"{REASON_INVALID}: engine returned no Decision", None
        if decision is None:
            failure = failure or REASON_UNDEFINED
            decision = Decision.deny(failure)
        return decision, failure, dt

    async def decide(self, req: ChatRequest, out: Outcome) -> tuple[Decision, list[Upstream]]:
        """Ask the policy; return the decision and the plan (route upstreams it allowed).

        Raises:
            PolicyUnavailable: the engine failed, timed out or returned nothing (fail closed).
            PolicyDenied: the policy allowed none of the route's candidates.
            NoUpstreamAvailable: the policy denied, but only while some candidates were down.
            AuditUnavailable: the audit log refused the decision record.
        """
        rt = self.routes[req.route]
        now = self.clock()
        cands: list[Candidate] = []
        cand_dicts: list[dict[str, Any]] = []
        any_down = False
        for ups in rt.by_model.values():
            first = ups[0]
            if any(u.usable(now) for u in ups):
                cands.append(first.candidate_up)
                cand_dicts.append(first.candidate_dict_up)
            else:
                any_down = True
                cands.append(first.candidate_down)
                cand_dicts.append(first.candidate_dict_down)
        body = req.body
        requested = body.get("model")
        if requested not in rt.by_model:
            requested = None
        decision, failure, budget, max_tokens = await self._decide_recorded(
            req, out, "decision", requested, tuple(cands), cand_dicts, req.stream)
        if failure is not None or (
            not decision.allow and any(r.startswith(FAIL_CLOSED_PREFIXES) for r in decision.reasons)
        ):
            raise PolicyUnavailable(
                "the policy engine gave no usable decision; failing closed",
                reasons=decision.reasons, retry_after_s=1.0, headers=out.header_dict(),
            )
        if budget is not None and not decision.allow and any(
                r.startswith(BUDGET_EXCEEDED) for r in decision.reasons):
            raise BudgetExceeded(
                "the spend budget for this request is exhausted for now",
                reasons=decision.reasons,
                retry_after_s=self.budgets.retry_after_s(req.tenant, req.route),  # type: ignore[union-attr]
                headers=out.header_dict(),
            )
        allowed = decision.allowed if decision.allow else ()
        plan = [up for up in rt.upstreams if up.model in allowed]
        if not plan:
            if any_down:
                raise NoUpstreamAvailable(
                    "no allowed upstream can serve this request now",
                    reasons=decision.reasons, denied=decision.denied,
                    retry_after_s=retry_after_s(rt.upstreams, now), headers=out.header_dict(),
                )
            raise PolicyDenied(
                "the policy allows no model of this route for this request",
                reasons=decision.reasons or ("no candidate allowed",), denied=decision.denied,
                headers=out.header_dict(),
            )
        cap = decision.obligations.max_tokens
        if cap is not None and (not isinstance(max_tokens, int) or max_tokens > cap):
            body["max_tokens"] = cap
        return decision, plan

    async def decide_shadow(self, req: ChatRequest, model: str, ups: list[Upstream],
                            out: Outcome, *, shadow_of: str | None) -> tuple[Decision, bool]:
        """The shadow target's own decision: the request as it is, with ``model`` (served by
        ``ups``) as the only candidate; audited as a ``shadow_decision`` record (enqueued
        before anything is sent). Returns the decision and whether it allows ``model``; a
        failed engine allows nothing (fail closed).

        Raises:
            AuditUnavailable: the audit log refused the record (then nothing may be sent).
        """
        now = self.clock()
        first = ups[0]
        usable = any(u.usable(now) for u in ups)
        cand = first.candidate_up if usable else first.candidate_down
        cand_dict = first.candidate_dict_up if usable else first.candidate_dict_down
        decision, failure, _, _ = await self._decide_recorded(
            req, out, "shadow_decision", model, (cand,), [cand_dict], False,
            shadow_of=shadow_of)
        return decision, failure is None and decision.allow and model in decision.allowed

    async def _decide_recorded(self, req: ChatRequest, out: Outcome, kind: str,
                               requested: str | None, cands: tuple[Candidate, ...],
                               cand_dicts: list[dict[str, Any]], stream: bool, **extra: Any
                               ) -> tuple[Decision, str | None, Any, Any]:
        """Ask the policy about ``req`` with these candidates and enqueue the ``kind`` record
        (``extra`` fields included); returns the decision, the engine's failure (None: it
        answered), the budget state it was given and the request's ``max_tokens``.

        Raises:
            AuditUnavailable: the audit log refused the record.
        """
        body = req.body
        max_tokens = body.get("max_tokens")
        budgets = self.budgets
        budget = budgets.state(req.tenant, req.route) if budgets is not None else None
        inp = DecisionInput.model_construct(
            route=req.route, tenant=req.tenant, data_classes=req.data_classes, region=req.region,
            requested_model=requested, candidates=cands, max_tokens=max_tokens,
            stream=stream, budget=budget,
        )
        out.decision_id = decision_id = new_id()
        decision, failure, dt = await self._ask(inp)
        event: dict[str, Any] = {
            "kind": kind, "decision_id": decision_id, "path": DECISION_PATH,
            "request_id": req.request_id, **extra, "timestamp": now_iso(),
            "input": {
                "route": req.route, "tenant": req.tenant, "data_classes": list(req.data_classes),
                "region": req.region, "requested_model": requested, "candidates": cand_dicts,
                "max_tokens": max_tokens, "stream": stream,
            },
            "result": self._decision_dump(decision),
            "policy": self._policy_info(),
            "decision_latency_ms": round(dt * 1000, 4),
        }
        if budget is not None:
            event["input"]["budget"] = {scope: dict(b.__dict__) for scope, b in budget.items()}
        if req.workflow_id is not None or req.step is not None:
            event["workflow"] = {"workflow_id": req.workflow_id, "step": req.step}
        if decision.obligations.log_prompts:
            # Only when the policy permits it; with log_prompts false the prompt never reaches
            # the audit sink, masked or not.
            event["request"] = {"messages": body.get("messages")}
        self.ledger.record(event, out)
        return decision, failure, budget, max_tokens
