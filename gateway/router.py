"""Per-request core: policy decision → rank the allowed upstreams → attempt with failover.

Invariant (DESIGN.md §5.1): the only upstreams ever attempted for a request are those of its
route whose ``model`` is in that request's ``decision.allowed`` — the ``plan`` computed once in
:meth:`Router.decide`; retries and hedges draw from the same plan.

Every decision and every attempt is appended to the audit sink with ``append_nowait``; with
``audit.ack: durable`` (the default) the app sends a response only after :meth:`Router.audit_durable`
says the request's last record is durable (one group commit, shared by concurrent requests).
A log that cannot write refuses records: the request fails with 503 ``audit_unavailable``
(``audit.on_failure: degrade`` serves it unaudited instead — not compliant, counted).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import orjson
from jsonschema import Draft202012Validator

from gateway.client import AttemptFailure, ClientFault, UpstreamClient, UpstreamStream, complete
from gateway.config import GatewayConfig, ResolvedSecrets, RouteConfig
from gateway.errors import AuditUnavailable, NoUpstreamAvailable, PolicyDenied, PolicyUnavailable, RequestError
from gateway.metrics import GatewayMetrics
from gateway.request import ChatRequest  # validated before it gets here (gateway.request)
from gateway.breaker import OPEN
from gateway.upstream import Upstream, rank
from gateway.validation import compile_schema
from governance.decision import DECISION_PATH, Candidate, Decision, DecisionInput

# Reason prefixes the governance engines use for fail-closed denials (engine error, timeout,
# undefined, invalid output): those are outages, not verdicts, so they render as 503.
FAIL_CLOSED_PREFIXES = (
    "policy_undefined", "policy_engine_error", "policy_timeout", "policy_output_invalid",
    "policy_engine_unavailable",
)


# Health probes of half-open upstreams (breaker.probe: background) carry no client data: a fixed
# one-word prompt, max_tokens 1, and these markers, so an upstream's request log can tell them
# from client traffic (they are not requests any policy decided on).
PROBE_HEADER = "X-Govchaos-Probe"
PROBE_USER = "govchaos:probe"
PROBE_REQUEST_ID_PREFIX = "govchaos-probe-"
DEFAULT_PROBE_TIMEOUT_S = 2.0


class PolicyEngine(Protocol):
    async def decide(self, inp: DecisionInput) -> Decision: ...


class AuditSink(Protocol):
    """``append_nowait`` returns the record's seq; a sink may also offer
    ``async wait_durable(seq)`` (the audit log does) for ``audit.ack: durable``."""

    def append_nowait(self, event: dict[str, Any]) -> Any: ...


@dataclass(slots=True)
class Outcome:
    """What served a request (or how far it got); the app turns it into response headers."""

    request_id: str
    decision_id: str = ""
    upstream: Upstream | None = None
    attempts: int = 0
    failovers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes = b""
    stream: UpstreamStream | None = None
    first_events: list[bytes] = field(default_factory=list)
    upstream_s: float = 0.0
    attempt_t0: float = 0.0
    audit_seq: int = -1  # the seq of the request's last audit record

    def headers(self) -> list[tuple[bytes, bytes]]:
        h = [(b"x-govchaos-request-id", self.request_id.encode())]
        if self.decision_id:
            h.append((b"x-govchaos-decision-id", self.decision_id.encode()))
        if self.upstream is not None:
            h.append((b"x-govchaos-served-by", self.upstream.model.encode()))
            h.append((b"x-govchaos-upstream", self.upstream.name.encode()))
        h.append((b"x-govchaos-attempts", str(self.attempts).encode()))
        if self.failovers:
            h.append((b"x-govchaos-failovers",
                      ",".join(f"{n}:{r}" for n, r in self.failovers).encode()))
        return h


class RouteRuntime:
    __slots__ = ("name", "cfg", "upstreams", "validator", "timeout_s", "max_attempts", "hedge_s",
                 "by_model")

    def __init__(self, name: str, cfg: RouteConfig, upstreams: list[Upstream]) -> None:
        self.name = name
        self.cfg = cfg
        self.upstreams = upstreams
        schema = cfg.response_schema
        self.validator: Draft202012Validator | None = (
            compile_schema(schema, name) if isinstance(schema, dict) else None
        )
        self.timeout_s = cfg.attempt_timeout_ms / 1000.0
        self.max_attempts = 1 + cfg.retry_budget
        self.hedge_s = cfg.hedge_after_ms / 1000.0 if cfg.hedge_after_ms else None
        self.by_model: dict[str, list[Upstream]] = {}
        for up in upstreams:
            self.by_model.setdefault(up.model, []).append(up)


# Request and decision ids: a per-process random prefix and a counter (24 hex characters). Unique
# across processes and restarts without a getrandom syscall per request; ids are not secrets.
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)


def new_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"


_iso_second: list = [-1, ""]  # (whole second, its formatted prefix): formatted once a second


def _now_iso() -> str:
    """UTC now as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (the second's prefix is cached: this runs for
    every decision record)."""
    t = time.time()
    sec = int(t)
    cached = _iso_second
    if cached[0] != sec:
        cached[1] = datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        cached[0] = sec
    return f"{cached[1]}.{int((t - sec) * 1e6):06d}Z"


class Router:
    """Owns upstream state and runs the decision/attempt loop for each request."""

    def __init__(
        self,
        cfg: GatewayConfig,
        *,
        engine: PolicyEngine,
        audit: AuditSink,
        client: UpstreamClient,
        secrets: ResolvedSecrets | None = None,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        enforce_decision_timeout: bool = True,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        # Embedded engines evaluate synchronously inside ``decide``: a timeout could not
        # interrupt them, only cost a timer per request. Remote engines (OPA) need it.
        self.enforce_decision_timeout = enforce_decision_timeout
        self.audit = audit
        self._wait_durable = (getattr(audit, "wait_durable", None)
                              if cfg.audit.ack == "durable" else None)
        self._degrade = cfg.audit.on_failure == "degrade"
        self._audit_retry_s = max(1.0, math.ceil(cfg.audit.retry_ms / 1000.0))
        self._policy_cache: tuple[Any, dict[str, Any]] = (None, {})
        self.client = client
        self.metrics = metrics or GatewayMetrics()
        self.clock = clock
        self.decision_timeout_s = cfg.policy.decision_timeout_ms / 1000.0
        keys = secrets.upstream_keys if secrets else {}
        self.upstreams: dict[str, Upstream] = {}
        for ucfg in cfg.upstreams:
            name = ucfg.name
            self.upstreams[name] = Upstream(
                ucfg, cfg.breaker, api_key=keys.get(name), clock=clock,
                on_breaker_change=lambda state, n=name: self._breaker_changed(n, state),
            )
            self.metrics.breaker_changed(name, "closed")
        self.routes = {
            name: RouteRuntime(
                name, rc,
                [self.upstreams[n] for n in (rc.upstreams or [u.name for u in cfg.upstreams])],
            )
            for name, rc in cfg.routes.items()
        }
        self._dumped: dict[int, tuple[Decision, dict[str, Any]]] = {}
        # background health probes (breaker.probe: background)
        self._probe_timeout_s: dict[str, float] = {}
        for name in self.upstreams:
            timeouts = [rt.timeout_s for rt in self.routes.values()
                        if any(u.name == name for u in rt.upstreams)]
            self._probe_timeout_s[name] = (
                cfg.breaker.probe_timeout_ms / 1000.0 if cfg.breaker.probe_timeout_ms
                else min(timeouts, default=DEFAULT_PROBE_TIMEOUT_S))
        self._probe_wakeup: asyncio.Event | None = None
        self._prober: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()

    # -- circuit breakers and background probes -------------------------------------------------
    def _breaker_changed(self, name: str, state: str) -> None:
        self.metrics.breaker_changed(name, state)
        if state == OPEN and self._probe_wakeup is not None:
            self._probe_wakeup.set()

    def start(self) -> None:
        """Start the background prober (needs a running loop); :meth:`close` stops it."""
        if self._prober is None and any(u.breaker.background_probe for u in self.upstreams.values()):
            self._probe_wakeup = asyncio.Event()
            self._prober = asyncio.get_running_loop().create_task(
                self._probe_loop(), name="govchaos-breaker-prober")

    async def close(self) -> None:
        tasks = [t for t in (self._prober, *self._probes) if t is not None]
        self._prober = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _probe_loop(self) -> None:
        """Probe every half-open upstream once per open period, in the background: a client
        request never pays for finding out whether an upstream is back."""
        wakeup = self._probe_wakeup
        assert wakeup is not None
        idle_s = min([u.breaker.open_s for u in self.upstreams.values()] + [1.0])
        while True:
            wait = idle_s
            for up in self.upstreams.values():
                breaker = up.breaker
                if not breaker.background_probe or up.gpu_state == "lost":
                    continue  # a lost GPU gets no traffic at all, probes included
                if breaker.try_probe():
                    task = asyncio.ensure_future(self._probe(up))
                    self._probes.add(task)
                    task.add_done_callback(self._probes.discard)
                elif breaker.state == OPEN:
                    wait = min(wait, breaker.retry_in_s())
            wakeup.clear()
            try:
                async with asyncio.timeout(max(wait, 0.005)):
                    await wakeup.wait()
            except TimeoutError:
                pass

    async def _probe(self, up: Upstream) -> None:
        """One health probe: a fixed tiny completion (no client data) judged like an attempt;
        success closes the breaker, failure re-opens it. Audited as ``kind: probe``."""
        request_id = PROBE_REQUEST_ID_PREFIX + os.urandom(8).hex()
        body = orjson.dumps({
            "model": up.model, "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1, "stream": False, "user": PROBE_USER,
        })
        headers = {**up.headers, "X-Govchaos-Request-Id": request_id, PROBE_HEADER: "1"}
        t = time.perf_counter()
        status: int | None = 200
        reason: str | None = None
        try:
            await complete(self.client, up, body, headers, self._probe_timeout_s[up.name], None)
        except AttemptFailure as f:
            status, reason = f.status, f.reason
            if f.reason == "http_429" or f.retry_after_s is not None:
                up.skip_for(f.retry_after_s, self.clock())
        except ClientFault as fault:
            status = fault.status  # it answered: alive (the probe body is the odd one out)
        except asyncio.CancelledError:
            up.breaker.release()
            raise
        except Exception as exc:  # never let a probe bug kill the prober; count it as failed
            status, reason = None, f"probe_error: {type(exc).__name__}"
        seconds = time.perf_counter() - t
        if reason is None or reason == "http_429":  # 429: alive, rate-limited (Retry-After set)
            up.breaker.record_success()
            outcome = "ok"
        else:
            up.breaker.record_failure(timeout=reason == "timeout")
            outcome = "failure"
        self.metrics.attempt(up.name, "probe_" + outcome, seconds, failover=False)
        try:
            self.audit.append_nowait({
                "kind": "probe", "request_id": request_id, "upstream": up.name,
                "model": up.model, "outcome": outcome, "status": status,
                "latency_ms": round(seconds * 1000, 3), "reason": reason,
            })
        except Exception:
            pass  # a probe serves no client; the log refusing it must not stop probing

    # -- GPU health -----------------------------------------------------------------------------
    def set_gpu_state(self, device: int, state: str) -> list[str]:
        """Apply a GPU health reading to every upstream on ``device``; returns their names."""
        names = []
        for up in self.upstreams.values():
            if up.cfg.gpu is not None and up.cfg.gpu.device == device:
                up.gpu_state = state
                names.append(up.name)
        self.metrics.gpu_changed(device, state)
        return names

    # -- decision -------------------------------------------------------------------------------
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

    async def decide(self, req: ChatRequest, out: Outcome) -> tuple[Decision, list[Upstream]]:
        """Ask the policy; return the decision and the plan (route upstreams it allowed).

        Raises:
            PolicyUnavailable: the engine failed, timed out or returned nothing (fail closed).
            PolicyDenied: the policy allowed none of the route's candidates.
            NoUpstreamAvailable: the policy denied, but only while some candidates were down.
        """
        rt = self.routes[req.route]
        now = self.clock()
        cands: list[Candidate] = []
        cand_dicts: list[dict[str, Any]] = []
        any_down = False
        for model, ups in rt.by_model.items():
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
        max_tokens = body.get("max_tokens")
        inp = DecisionInput.model_construct(
            route=req.route, tenant=req.tenant, data_classes=req.data_classes, region=req.region,
            requested_model=requested, candidates=tuple(cands), max_tokens=max_tokens,
            stream=req.stream,
        )
        out.decision_id = decision_id = new_id()
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
            failure = "policy_timeout: no decision within decision_timeout_ms"
        except Exception as exc:  # fail closed on anything the engine throws
            failure = f"policy_engine_error: {type(exc).__name__}"
        dt = time.perf_counter() - t
        self.metrics.decision.observe(dt)
        if decision is not None and not isinstance(decision, Decision):
            failure, decision = "policy_output_invalid: engine returned no Decision", None
        if decision is None:
            decision = Decision.deny(failure or "policy_undefined")
        event: dict[str, Any] = {
            "kind": "decision", "decision_id": decision_id, "path": DECISION_PATH,
            "request_id": req.request_id, "timestamp": _now_iso(),
            "input": {
                "route": req.route, "tenant": req.tenant, "data_classes": list(req.data_classes),
                "region": req.region, "requested_model": requested, "candidates": cand_dicts,
                "max_tokens": max_tokens, "stream": req.stream,
            },
            "result": self._decision_dump(decision),
            "policy": self._policy_info(),
            "decision_latency_ms": round(dt * 1000, 4),
        }
        if decision.obligations.log_prompts:
            # Only when the policy permits it; with log_prompts false the prompt never reaches
            # the audit sink, masked or not.
            event["request"] = {"messages": body.get("messages")}
        self._audit(event, out)
        if failure is not None or (
            not decision.allow and any(r.startswith(FAIL_CLOSED_PREFIXES) for r in decision.reasons)
        ):
            raise PolicyUnavailable(
                "the policy engine gave no usable decision; failing closed",
                reasons=decision.reasons, retry_after_s=1.0, headers=_h(out),
            )
        allowed = decision.allowed if decision.allow else ()
        plan = [up for up in rt.upstreams if up.model in allowed]
        if not plan:
            if any_down:
                raise NoUpstreamAvailable(
                    "no allowed upstream can serve this request now",
                    reasons=decision.reasons, denied=decision.denied,
                    retry_after_s=self._retry_after(rt.upstreams, now), headers=_h(out),
                )
            raise PolicyDenied(
                "the policy allows no model of this route for this request",
                reasons=decision.reasons or ("no candidate allowed",), denied=decision.denied,
                headers=_h(out),
            )
        cap = decision.obligations.max_tokens
        if cap is not None and (not isinstance(max_tokens, int) or max_tokens > cap):
            body["max_tokens"] = cap
        return decision, plan

    def _retry_after(self, ups: list[Upstream], now: float) -> float:
        waits = [u.retry_in_s(now) for u in ups]
        return max(1.0, math.ceil(min(waits))) if waits else 1.0

    # -- attempts ---------------------------------------------------------------------------------
    def _upstream_body(self, req: ChatRequest, up: Upstream) -> tuple[bytes, dict[str, str]]:
        body = req.body
        body["model"] = up.model
        headers = up.headers.copy()
        headers["X-Govchaos-Request-Id"] = req.request_id
        return orjson.dumps(body), headers

    def _audit_attempt(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, outcome: str,
                       status: int | None, seconds: float, reason: str | None) -> None:
        self._audit({
            "kind": "attempt", "request_id": req.request_id, "decision_id": out.decision_id,
            "upstream": up.name, "model": up.model, "attempt": n, "outcome": outcome,
            "status": status, "latency_ms": round(seconds * 1000, 3), "failover_reason": reason,
        }, out)

    def _audit(self, event: dict[str, Any], out: Outcome) -> None:
        """Enqueue an audit event; a log that refuses it fails the request (fail closed).

        Raises:
            AuditUnavailable: the audit log is closed, failed, or rejected the event.
        """
        try:
            seq = self.audit.append_nowait(event)
        except Exception as exc:
            if self._degrade and getattr(exc, "code", "") == "audit_unavailable":
                self.metrics.audit_unaudited.inc()
                out.audit_seq = -1
                return
            self.metrics.audit_refused.inc()
            raise AuditUnavailable("the audit log is unavailable; refusing to serve",
                                   retry_after_s=self._audit_retry_s, headers=_h(out)) from exc
        if type(seq) is int:
            out.audit_seq = seq

    async def audit_durable(self, out: Outcome) -> None:
        """With ``audit.ack: durable``, wait until the request's records are durable.

        Raises:
            AuditUnavailable: they cannot be made durable now (the answer is withheld; the
                records stay queued and are written once the log can write).
        """
        wait = self._wait_durable
        if wait is None or out.audit_seq < 0:
            return
        try:
            await wait(out.audit_seq)
        except Exception as exc:
            if self._degrade and getattr(exc, "code", "") == "audit_unavailable":
                self.metrics.audit_unaudited.inc()
                return
            self.metrics.audit_refused.inc()
            raise AuditUnavailable("the audit log cannot make this request's records durable;"
                                   " withholding the answer", retry_after_s=self._audit_retry_s,
                                   headers=_h(out)) from exc

    def audit_status(self) -> dict[str, Any]:
        """For /readyz: whether the audit log can make records durable now, and why not."""
        available = getattr(self.audit, "available", True)
        status: dict[str, Any] = {"available": bool(available)}
        if not available:
            error = getattr(self.audit, "unavailable_error", None)
            status["reason"] = getattr(error, "message", "audit log unavailable")
        return status

    def _policy_info(self) -> dict[str, Any]:
        """The engine and bundle digest in force (one dict per bundle: compacted per segment)."""
        bundle = getattr(self.engine, "bundle", None)
        digest = getattr(bundle, "digest", None)
        if self._policy_cache[0] != digest or not self._policy_cache[1]:
            self._policy_cache = (digest, {"engine": self.cfg.policy.engine,
                                           "bundle_digest": digest})
        return self._policy_cache[1]

    def _failed(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, f: AttemptFailure,
                seconds: float) -> None:
        out.upstream_s += seconds
        if f.reason == "http_429" or f.retry_after_s is not None:
            up.skip_for(f.retry_after_s, self.clock())
        if f.reason == "http_429":
            up.breaker.release()  # rate limiting is not breakage; Retry-After handles it
        else:
            up.breaker.record_failure(timeout=f.reason == "timeout")
        out.failovers.append((up.name, f.reason))
        self.metrics.attempt(up.name, f.reason, seconds, failover=True)
        self._audit_attempt(req, out, up, n, "failure", f.status, seconds, f.reason)

    def _succeeded(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, seconds: float,
                   *, audit: bool = True) -> None:
        out.upstream_s += seconds
        up.breaker.record_success()
        up.observe_latency(seconds * 1000.0)
        out.upstream = up
        if audit:
            self.metrics.attempt(up.name, "ok", seconds, failover=False)
            self._audit_attempt(req, out, up, n, "ok", 200, seconds, None)

    def _client_fault(self, req: ChatRequest, out: Outcome, up: Upstream, n: int,
                      fault: ClientFault, seconds: float) -> RequestError:
        out.upstream_s += seconds
        up.breaker.record_success()  # it answered; the request was the problem
        out.upstream = up
        self.metrics.attempt(up.name, "client_error", seconds, failover=False)
        self._audit_attempt(req, out, up, n, "client_error", fault.status, seconds, None)
        err = RequestError("the upstream rejected the request", code="upstream_rejected_request",
                           headers=_h(out))
        err.status = fault.status
        err.type = "invalid_request_error"
        err.upstream_body = fault.body  # type: ignore[attr-defined]
        return err

    def _exhausted(self, req: ChatRequest, out: Outcome, plan: list[Upstream]) -> NoUpstreamAvailable:
        return NoUpstreamAvailable(
            "no allowed upstream could serve this request",
            reasons=tuple(f"{n}:{r}" for n, r in out.failovers) or ("all allowed upstreams unavailable",),
            retry_after_s=self._retry_after(plan, self.clock()), headers=_h(out),
        )

    async def _plan(self, req: ChatRequest, out: Outcome
                    ) -> tuple[RouteRuntime, list[Upstream], list[Upstream]]:
        """Decide, then rank the allowed upstreams usable now (see :meth:`decide` for raises)."""
        rt = self.routes[req.route]
        _, plan = await self.decide(req, out)
        ranked = rank([u for u in plan if u.usable(self.clock())], rt.cfg.strategy,
                      req.body.get("model"))
        return rt, plan, ranked

    @staticmethod
    def _admit(rt: RouteRuntime, ranked: list[Upstream], out: Outcome
               ) -> Iterator[tuple[Upstream, int]]:
        """Yield (upstream, attempt number) for every attempt the retry budget and the
        upstreams' breakers admit, in rank order; counts the attempt in ``out``."""
        for up in ranked:
            if out.attempts >= rt.max_attempts:
                return
            if not up.breaker.try_acquire():
                continue
            out.attempts += 1
            yield up, out.attempts

    async def complete(self, req: ChatRequest) -> Outcome:
        """Serve a non-streaming request.

        Raises:
            RequestError: policy denial/unavailability, or no allowed upstream could serve.
        """
        out = Outcome(request_id=req.request_id)
        rt, plan, ranked = await self._plan(req, out)
        if rt.hedge_s is not None:
            return await self._complete_hedged(req, out, rt, ranked, plan)
        for up, n in self._admit(rt, ranked, out):
            body, headers = self._upstream_body(req, up)
            t = time.perf_counter()
            try:
                out.raw, _ = await complete(self.client, up, body, headers, rt.timeout_s, rt.validator)
            except AttemptFailure as f:
                self._failed(req, out, up, n, f, time.perf_counter() - t)
                continue
            except ClientFault as fault:
                raise self._client_fault(req, out, up, n, fault, time.perf_counter() - t) from None
            except BaseException:
                up.breaker.release()
                raise
            self._succeeded(req, out, up, n, time.perf_counter() - t)
            return out
        raise self._exhausted(req, out, plan)

    async def _complete_hedged(self, req: ChatRequest, out: Outcome, rt: RouteRuntime,
                               ranked: list[Upstream], plan: list[Upstream]) -> Outcome:
        pending: dict[asyncio.Task, tuple[Upstream, int, float]] = {}
        admitted = self._admit(rt, ranked, out)

        def start_next() -> bool:
            nxt = next(admitted, None)
            if nxt is None:
                return False
            up, n = nxt
            body, headers = self._upstream_body(req, up)
            task = asyncio.ensure_future(
                complete(self.client, up, body, headers, rt.timeout_s, rt.validator))
            pending[task] = (up, n, time.perf_counter())
            return True

        won = False
        try:
            start_next()
            while pending:
                can_hedge = out.attempts < rt.max_attempts
                done, _ = await asyncio.wait(
                    pending, timeout=rt.hedge_s if can_hedge else None,
                    return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    start_next()  # the hedge: a second allowed upstream after hedge_after_ms
                    continue
                for task in done:
                    up, n, t = pending.pop(task)
                    seconds = time.perf_counter() - t
                    exc = task.exception()
                    if exc is None:
                        out.raw, _ = task.result()
                        self._succeeded(req, out, up, n, seconds)
                        won = True
                        return out
                    if isinstance(exc, AttemptFailure):
                        self._failed(req, out, up, n, exc, seconds)
                    elif isinstance(exc, ClientFault):
                        raise self._client_fault(req, out, up, n, exc, seconds)
                    else:
                        up.breaker.release()
                        raise exc
                if not pending:
                    start_next()
        finally:
            for task, (up, n, t) in pending.items():
                task.cancel()
                seconds = time.perf_counter() - t
                if won and rt.hedge_s is not None and seconds >= rt.hedge_s:
                    # Lost to a hedge after leaving it unanswered for hedge_after_ms: a slow
                    # call. Counted against the breaker, or a hanging upstream would never open
                    # and every request would wait hedge_after_ms for it.
                    up.breaker.record_failure()
                    reason: str | None = "slow"
                else:
                    up.breaker.release()
                    reason = None
                self.metrics.attempt(up.name, "cancelled", seconds, failover=False)
                self._audit_attempt(req, out, up, n, "cancelled", None, seconds, reason)
        raise self._exhausted(req, out, plan)

    async def open_stream(self, req: ChatRequest) -> Outcome:
        """Open a streaming request: fail over until an upstream has produced its first content.

        Raises:
            RequestError: as :meth:`complete`.
        """
        out = Outcome(request_id=req.request_id)
        rt, plan, ranked = await self._plan(req, out)
        for up, n in self._admit(rt, ranked, out):
            body, headers = self._upstream_body(req, up)
            stream = UpstreamStream(self.client, up, body, headers, rt.timeout_s, rt.validator)
            t = time.perf_counter()
            try:
                out.first_events = await stream.open()
            except AttemptFailure as f:
                self._failed(req, out, up, n, f, time.perf_counter() - t)
                continue
            except ClientFault as fault:
                raise self._client_fault(req, out, up, n, fault, time.perf_counter() - t) from None
            except BaseException:
                up.breaker.release()
                await stream.close()
                raise
            out.upstream = up
            out.stream = stream
            out.attempt_t0 = t
            return out
        raise self._exhausted(req, out, plan)

    def finish_stream(self, req: ChatRequest, out: Outcome, failure: AttemptFailure | None,
                      *, cancelled: bool = False) -> None:
        """Record the streamed attempt once the stream has ended (well or not)."""
        up = out.upstream
        assert up is not None
        seconds = time.perf_counter() - out.attempt_t0
        n = out.attempts
        if cancelled:
            up.breaker.release()
            self.metrics.attempt(up.name, "cancelled", seconds, failover=False)
            self._audit_attempt(req, out, up, n, "cancelled", 200, seconds, None)
        elif failure is None:
            self._succeeded(req, out, up, n, seconds)
        else:
            # Too late to fail over: the client already has content. Count it against the
            # upstream and record why the stream was cut.
            out.upstream_s += seconds
            up.breaker.record_failure()
            self.metrics.attempt(up.name, failure.reason, seconds, failover=False)
            self._audit_attempt(req, out, up, n, "stream_error", 200, seconds, failure.reason)


def _h(out: Outcome) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in out.headers()}
