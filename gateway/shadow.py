"""Shadow traffic (``routes.<r>.shadow``): mirror a share of a route's requests to a candidate.

For a request the primary served, a deterministic share (by request id) is mirrored to the
shadow model, asynchronously — the client's answer is already on its way and never waits for,
or sees, the shadow:

1. the shadow target gets **its own policy decision** (:meth:`PolicyGate.decide_shadow`), with the
   request's tenant, data classes and region and the shadow model as the only candidate, audited
   as a ``shadow_decision`` record; a denial (a PII request mirrored to a cloud model) is counted
   (``outcome="denied"``) and audited, and **nothing is sent**. An engine failure denies too
   (fail closed), and so does an audit log that refuses the decision record;
2. an allowed shadow goes to a usable upstream serving the model, non-streaming, with the
   decision's ``max_tokens`` obligation, the route's response schema and a timeout;
3. the result — outcome (``ok`` or the failover vocabulary's reason: ``timeout``,
   ``schema_invalid``, …), latency next to the primary's, tokens and cost — is a ``shadow``
   audit event and metrics (``govchaos_shadow_requests_total{route,model,outcome}``,
   ``govchaos_shadow_latency_seconds``). Shadow spend is real spend: it is charged to the
   accounting counters and the request's budgets like any served attempt.

Shadows never touch the primary's state: no breaker, latency window or failover bookkeeping
sees them, and at most ``max_in_flight`` run at once (one more is dropped, counted
``outcome="dropped"``); a shadow still running when the gateway stops or reloads its config is
cancelled and audited as ``outcome="cancelled"``. The harness needs none of the gateway's word for any of this: the
upstreams log every shadow request like any other, so a shadow that reached a model the policy
forbids is a policy violation in the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson

from gateway.accounting import Usage, answer_chars, reported
from gateway.attempt import complete
from gateway.config import ShadowConfig
from gateway.errors import RequestError
from gateway.failures import AttemptFailure, ClientFault
from gateway.ids import now_iso
from gateway.ledger import AttemptLedger, Outcome
from gateway.metrics import GatewayMetrics
from gateway.policy_gate import PolicyGate
from gateway.request import ChatRequest
from gateway.route import RouteRuntime
from gateway.split import unit
from gateway.transport.base import Transport
from gateway.upstream import Upstream

SHADOW_HEADER = "X-Govchaos-Shadow"  # recorded by upstreams; the harness never trusts it
# (request, upstream, the answer's usage, completion characters to estimate from) -> booked
Charge = Callable[[ChatRequest, Upstream, Any, int], Usage]


class ShadowMirror:
    """One route's shadow: which requests to mirror, and running the mirrors."""

    def __init__(self, rt: RouteRuntime, cfg: ShadowConfig, upstreams: list[Upstream], *,
                 gate: PolicyGate, ledger: AttemptLedger, transport: Transport,
                 metrics: GatewayMetrics, charge: Charge,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``charge``: books a served answer's tokens and cost (the router's, so a shadow is
        measured and priced exactly like a served attempt)."""
        self.route = rt
        self.model = cfg.model
        self.share = cfg.share
        self.max_in_flight = cfg.max_in_flight
        self.timeout_s = (cfg.timeout_ms / 1000.0) if cfg.timeout_ms else rt.timeout_s
        self.upstreams = upstreams
        self.gate, self.ledger, self.transport = gate, ledger, transport
        self.metrics, self.charge, self.clock = metrics, charge, clock
        self.tasks: set[asyncio.Task[None]] = set()

    def wants(self, req: ChatRequest) -> bool:
        """Whether ``req`` is in the mirrored share (stable per request id)."""
        return unit(req.request_id, "\x00shadow") < self.share

    def mirror(self, req: ChatRequest, primary: Upstream, primary_s: float,
               primary_decision: str | None) -> None:
        """Start mirroring ``req`` (the primary ``primary`` served it in ``primary_s``) in the
        background; returns at once."""
        if len(self.tasks) >= self.max_in_flight:
            self._count("dropped")
            self._event(req, None, "dropped", primary, primary_s, primary_decision,
                        detail=f"{self.max_in_flight} shadow calls already in flight")
            return
        # the body as the primary got it, frozen now (the caller's dict is not ours to keep)
        body = dict(req.body)
        task = asyncio.get_running_loop().create_task(
            self._run(req, body, primary, primary_s, primary_decision))
        self.tasks.add(task)
        self.metrics.shadow_in_flight.inc()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.metrics.shadow_in_flight.dec()
        if not task.cancelled() and task.exception() is not None:
            self._count("error")  # a bug: counted, never raised into the loop

    async def close(self) -> None:
        """Cancel shadows still in flight (shutdown): nobody waits for their answers."""
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def _count(self, outcome: str) -> None:
        self.metrics.shadow_requests.labels(self.route.name, self.model, outcome).inc()

    def _event(self, req: ChatRequest, decision_id: str | None, outcome: str, primary: Upstream,
               primary_s: float, primary_decision: str | None, *, up: Upstream | None = None,
               seconds: float | None = None, detail: str = "",
               usage: Any = None) -> None:
        event: dict[str, Any] = {
            "kind": "shadow", "request_id": req.request_id, "decision_id": decision_id,
            "shadow_of": primary_decision, "timestamp": now_iso(), "route": req.route,
            "tenant": req.tenant, "model": self.model,
            "upstream": up.name if up is not None else None, "outcome": outcome,
            "latency_ms": round(seconds * 1000, 3) if seconds is not None else None,
            "primary": {"upstream": primary.name, "model": primary.model,
                        "latency_ms": round(primary_s * 1000, 3)},
        }
        if self.route.validator is not None:
            # the primary passed the route's schema (it served); did the shadow?
            event["schema_valid"] = outcome == "ok"
            event["primary"]["schema_valid"] = True
        if detail:
            event["detail"] = detail
        if usage is not None:
            event.update(usage.audit())
        try:
            self.ledger.record(event, Outcome(request_id=req.request_id))
        except RequestError:
            self._count("unaudited")

    async def _run(self, req: ChatRequest, body: dict[str, Any], primary: Upstream,
                   primary_s: float, primary_decision: str | None) -> None:
        out = Outcome(request_id=req.request_id)
        try:
            await self._mirror(req, body, primary, primary_s, primary_decision, out)
        except asyncio.CancelledError:
            # shutdown or a config reload: the audit trail still says what became of it
            self._count("cancelled")
            self._event(req, out.decision_id, "cancelled", primary, primary_s, primary_decision,
                        detail="the gateway stopped or reloaded before the shadow ended")
            raise

    async def _mirror(self, req: ChatRequest, body: dict[str, Any], primary: Upstream,
                      primary_s: float, primary_decision: str | None, out: Outcome) -> None:
        try:
            decision, allowed = await self.gate.decide_shadow(
                req, self.model, self.upstreams, out, shadow_of=primary_decision)
            await self.ledger.durable(out)
        except RequestError as err:  # the audit log refused the decision: send nothing
            self._count("audit_unavailable")
            self._event(req, out.decision_id, "audit_unavailable", primary, primary_s,
                        primary_decision, detail=str(err))
            return
        if not allowed:
            self._count("denied")
            self._event(req, out.decision_id, "denied", primary, primary_s, primary_decision,
                        detail="; ".join(decision.reasons) or "the policy allows no shadow here")
            return
        now = self.clock()
        up = next((u for u in self.upstreams if u.usable(now)), None)
        if up is None:
            self._count("unavailable")
            self._event(req, out.decision_id, "unavailable", primary, primary_s,
                        primary_decision, detail="no upstream of the shadow model is usable")
            return
        body["model"] = up.model
        body.pop("stream", None)
        body.pop("stream_options", None)
        cap = decision.obligations.max_tokens
        if cap is not None and (not isinstance(body.get("max_tokens"), int)
                                or body["max_tokens"] > cap):
            body["max_tokens"] = cap
        headers = up.headers.copy()
        headers["X-Govchaos-Request-Id"] = req.request_id
        headers[SHADOW_HEADER] = "1"
        t0 = time.perf_counter()
        usage = None
        try:
            _, doc = await complete(self.transport, up, orjson.dumps(body), headers,
                                    self.timeout_s, self.route.validator)
            outcome, detail = "ok", ""
            found = doc.get("usage")
            usage = self.charge(req, up, found,
                                answer_chars(doc) if reported(found) is None else 0)
        except AttemptFailure as failure:
            outcome, detail = failure.reason, str(failure)
        except ClientFault as fault:
            outcome, detail = "rejected", str(fault)
        seconds = time.perf_counter() - t0
        self._count(outcome)
        self.metrics.shadow_latency.labels(self.route.name, self.model).observe(seconds)
        self._event(req, out.decision_id, outcome, primary, primary_s, primary_decision,
                    up=up, seconds=seconds, detail=detail, usage=usage)


__all__ = ["SHADOW_HEADER", "ShadowMirror"]
