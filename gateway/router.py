"""Serving a request: the policy gate's plan → rank → the attempt loop, with failover.

    decide (gateway.policy_gate)   the decision, audited; the plan = route upstreams it allowed
    rank (gateway.upstream)        the plan's upstreams usable now, in the route's strategy order;
                                   a weighted split (gateway.split) then puts the picked version first
    attempt loop (here)            admit (retry budget, breakers) → try → book, until one serves;
                                   when to start attempts is a schedule (gateway.hedge)
    schedule (gateway.scheduling)  serial, the route's fixed hedge, or the hang watchdog
                                   (gateway.watchdog): an attempt past its upstream's slow
                                   threshold ejects it and may start a hedge (hedge budget),
                                   both only within the plan
    book (gateway.ledger)          breaker, latency EWMA, metrics and audit for every attempt

Invariant (DESIGN.md §5.1): the only upstreams ever attempted for a request are those of its
route whose ``model`` is in that request's ``decision.allowed``; retries and hedges draw from the
same plan, and a split only reorders it. A shadow (gateway.shadow) is not an attempt: it is sent
only after a decision of its own allowed its model. Health probes of half-open upstreams run in the background (:mod:`gateway.prober`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson

from gateway.accounting import Accountant, Usage, answer_chars, prompt_chars, reported
from gateway.attempt import complete
from gateway.breaker import OPEN
from gateway.budget import BudgetBook
from gateway.config import GatewayConfig
from gateway.credentials import ResolvedSecrets
from gateway.failures import AttemptFailure, ClientFault
from gateway.hedge import Attempt, Call
from gateway.ledger import AttemptLedger, AuditSink, Outcome
from gateway.metrics import GatewayMetrics
from gateway.policy_gate import PolicyGate
from gateway.prober import DEFAULT_PROBE_TIMEOUT_S, BreakerProber
from gateway.request import ChatRequest  # validated before it gets here (gateway.request)
from gateway.route import RouteRuntime
from gateway.scheduling import AttemptScheduler
from gateway.shadow import ShadowMirror
from gateway.sse import UpstreamStream
from gateway.transport.base import Transport
from gateway.upstream import Upstream, rank
from governance.engine.protocol import PolicyEngine


class Router:
    """Owns upstream state and runs the decision/attempt loop for each request."""

    def __init__(
        self,
        cfg: GatewayConfig,
        *,
        engine: PolicyEngine,
        audit: AuditSink,
        transport: Transport,
        secrets: ResolvedSecrets | None = None,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        enforce_decision_timeout: bool = True,
        budgets: BudgetBook | None = None,
    ) -> None:
        """``budgets``: the spend state to keep (a config reload passes the old router's,
        :meth:`BudgetBook.carry`); default: a fresh book for ``cfg.budgets``."""
        self.cfg = cfg
        self.audit = audit
        self.transport = transport
        self.metrics = metrics = metrics or GatewayMetrics()
        self.clock = clock
        keys = secrets.upstream_keys if secrets else {}
        self.scheduler = scheduler = AttemptScheduler(cfg.hang_detection, metrics, clock)
        self._discards: set[asyncio.Future[Any]] = set()
        self._split_counts: dict[str, dict[str, int]] = {}  # route -> model -> served
        self._split_children: dict[tuple[str, str], Any] = {}  # (route, upstream) -> counter
        self.upstreams: dict[str, Upstream] = {}
        for ucfg in cfg.upstreams:
            name = ucfg.name
            self.upstreams[name] = Upstream(
                ucfg, cfg.breaker, api_key=keys.get(name), clock=clock,
                on_breaker_change=lambda state, n=name: self._breaker_changed(n, state),
                latency=scheduler.window(),
            )
            metrics.breaker_changed(name, "closed")
        self.routes = {
            name: RouteRuntime(
                name, rc,
                [self.upstreams[n] for n in (rc.upstreams or [u.name for u in cfg.upstreams])],
                metrics,
            )
            for name, rc in cfg.routes.items()
        }
        self.ledger = AttemptLedger(audit, cfg.audit, metrics, clock)
        self.budgets = budgets.carry(cfg.budgets) if budgets is not None else BudgetBook(
            cfg.budgets, clock)
        self.accountant = Accountant.for_models(
            metrics.accounting, [(u.model, u.cost_per_1k_tokens) for u in cfg.upstreams],
            getattr(engine, "bundle", None), self.budgets.charge)
        self.gate = PolicyGate(
            engine, self.routes, ledger=self.ledger, metrics=metrics, clock=clock,
            engine_name=cfg.policy.engine,
            decision_timeout_s=cfg.policy.decision_timeout_ms / 1000.0,
            enforce_decision_timeout=enforce_decision_timeout,
            budgets=self.budgets if self.budgets.active else None)
        for rt in self.routes.values():
            shadow = rt.cfg.shadow
            if shadow is not None:
                rt.shadow = ShadowMirror(
                    rt, shadow, [u for u in self.upstreams.values() if u.model == shadow.model],
                    gate=self.gate, ledger=self.ledger, transport=transport, metrics=metrics,
                    charge=self._charge, clock=clock)
        self.prober = BreakerProber(self.upstreams, transport, self._probe_timeouts(),
                                    audit=audit, metrics=metrics, clock=clock,
                                    probe_timeout=scheduler.probe_timeout)

    def _probe_timeouts(self) -> dict[str, float]:
        """Per upstream: ``breaker.probe_timeout_ms``, else its shortest route attempt timeout."""
        if self.cfg.breaker.probe_timeout_ms:
            return {name: self.cfg.breaker.probe_timeout_ms / 1000.0 for name in self.upstreams}
        return {name: min((rt.timeout_s for rt in self.routes.values()
                           if any(u.name == name for u in rt.upstreams)),
                          default=DEFAULT_PROBE_TIMEOUT_S)
                for name in self.upstreams}

    # -- lifecycle, breakers, GPU health ------------------------------------------------------
    def _breaker_changed(self, name: str, state: str) -> None:
        self.metrics.breaker_changed(name, state)
        if state == OPEN:
            self.prober.wake()
        elif name in self.upstreams:  # absent only while the upstreams are being built
            self.scheduler.breaker_changed(self.upstreams[name], state)

    def start(self) -> None:
        """Start the background prober (needs a running loop); :meth:`close` stops it."""
        self.prober.start()

    async def close(self) -> None:
        await self.prober.close()
        for rt in self.routes.values():
            if rt.shadow is not None:
                await rt.shadow.close()

    def set_gpu_state(self, device: int, state: str) -> list[str]:
        """Apply a GPU health reading to every upstream on ``device``; returns their names."""
        names = []
        for up in self.upstreams.values():
            if up.cfg.gpu is not None and up.cfg.gpu.device == device:
                up.gpu_state = state
                names.append(up.name)
        self.metrics.gpu_changed(device, state)
        return names

    # -- audit (the ledger's) -----------------------------------------------------------------
    async def audit_durable(self, out: Outcome) -> None:
        """See :meth:`gateway.ledger.AttemptLedger.durable` (raises AuditUnavailable)."""
        await self.ledger.durable(out)

    def audit_status(self) -> dict[str, Any]:
        return self.ledger.status()

    # -- the attempt loop ---------------------------------------------------------------------
    def _upstream_body(self, req: ChatRequest, up: Upstream) -> tuple[bytes, dict[str, str]]:
        body = req.body
        body["model"] = up.model
        headers = up.headers.copy()
        headers["X-Govchaos-Request-Id"] = req.request_id
        return orjson.dumps(body), headers

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

    async def _attempt_loop(self, req: ChatRequest, out: Outcome, call: Call, *, hedge: bool,
                            served: Callable[[Attempt, float], None],
                            discard: Callable[[Any], Awaitable[None]] | None = None) -> None:
        """Decide, rank, then attempt until one upstream serves; ``served(attempt, seconds)``
        takes the winner (before any loser is abandoned); ``discard(result)`` releases the
        result of an attempt that settled but lost (an opened stream).

        Every attempt that ends is booked in the ledger; attempts abandoned in flight (lost a
        hedge race, the client left) are booked as cancelled.

        Raises:
            RequestError: from the policy gate; :class:`~gateway.errors.UpstreamRejected` when
                an upstream answered 400/422; NoUpstreamAvailable when no attempt served.
        """
        rt = self.routes[req.route]
        _, plan = await self.gate.decide(req, out)
        requested = req.body.get("model")
        ranked = rank([u for u in plan if u.usable(self.clock())], rt.cfg.strategy, requested)
        if rt.split is not None and ranked and requested not in rt.by_model:
            # a weighted version split, among what the policy allowed and is usable now; a
            # client that names a model of the route keeps it
            ranked = rt.split.order(ranked, req.sticky or req.request_id)
        schedule = self.scheduler.schedule(rt, plan, self._admit(rt, ranked, out), call, out,
                                           hedge=hedge)
        ledger = self.ledger
        won = False
        try:
            while (attempt := await schedule.next_settled()) is not None:
                up, n, exc = attempt.up, attempt.n, attempt.error
                seconds = time.perf_counter() - attempt.t0
                if exc is None:
                    served(attempt, seconds)
                    won = True
                    return
                if isinstance(exc, AttemptFailure):
                    ledger.failed(req, out, up, n, exc, seconds)
                elif isinstance(exc, ClientFault):
                    raise ledger.client_fault(req, out, up, n, exc, seconds) from None
                else:  # cancelled, or a bug: not the upstream's fault
                    up.breaker.release()
                    raise exc
        finally:
            for left in schedule.abandon():
                seconds = time.perf_counter() - left.t0
                ledger.cancelled(req, out, left.up, left.n, seconds, slow=won and left.slow)
                if discard is not None and left.result is not None:
                    task = asyncio.ensure_future(discard(left.result))
                    self._discards.add(task)
                    task.add_done_callback(self._discards.discard)
        raise ledger.exhausted(out, plan)

    # -- serving ------------------------------------------------------------------------------
    async def complete(self, req: ChatRequest) -> Outcome:
        """Serve a non-streaming request (hedged where the route sets ``hedge_after_ms``).

        Raises:
            RequestError: policy denial/unavailability, or no allowed upstream could serve.
        """
        out = Outcome(request_id=req.request_id)
        rt = self.routes[req.route]

        async def call(up: Upstream) -> tuple[bytes, Any]:
            body, headers = self._upstream_body(req, up)
            return await complete(self.transport, up, body, headers, rt.timeout_s, rt.validator)

        def served(attempt: Attempt, seconds: float) -> None:
            out.raw, doc = attempt.result
            reported_usage = doc.get("usage")
            chars = answer_chars(doc) if reported(reported_usage) is None else 0
            usage = self._charge(req, attempt.up, reported_usage, chars)
            self.ledger.succeeded(req, out, attempt.up, attempt.n, seconds, usage=usage)
            self._served(rt, req, out, attempt.up, seconds)

        await self._attempt_loop(req, out, call, hedge=True, served=served)
        return out

    def _served(self, rt: RouteRuntime, req: ChatRequest, out: Outcome, up: Upstream,
                seconds: float) -> None:
        """A request of ``rt`` was served by ``up``: split shares, then maybe a shadow."""
        if rt.split is not None:
            self._split_served(rt, up)
        shadow = rt.shadow
        if shadow is not None and shadow.wants(req):
            shadow.mirror(req, up, seconds, out.decision_id)

    def _split_served(self, rt: RouteRuntime, up: Upstream) -> None:
        key = (rt.name, up.name)
        child = self._split_children.get(key)
        if child is None:
            child = self._split_children[key] = self.metrics.split_served.labels(
                rt.name, up.model, up.cfg.version)
        child.inc()
        counts = self._split_counts.setdefault(rt.name, {})
        counts[up.model] = counts.get(up.model, 0) + 1

    def export_split_shares(self) -> None:
        """Set ``govchaos_split_share`` from the served counts (at scrape time, not per request)."""
        for route, counts in self._split_counts.items():
            total = sum(counts.values())
            for model, n in counts.items():
                self.metrics.split_share.labels(route, model).set(n / total)

    async def open_stream(self, req: ChatRequest) -> Outcome:
        """Open a streaming request: fail over until an upstream has produced its first content.

        Raises:
            RequestError: as :meth:`complete`.
        """
        out = Outcome(request_id=req.request_id)
        rt = self.routes[req.route]
        strip_usage = _ask_for_usage(req.body)

        async def call(up: Upstream) -> tuple[UpstreamStream, list[bytes]]:
            body, headers = self._upstream_body(req, up)
            stream = UpstreamStream(self.transport, up, body, headers, rt.timeout_s, rt.validator,
                                    strip_usage=strip_usage)
            return stream, await stream.open()  # open() closes the stream when it raises

        def served(attempt: Attempt, seconds: float) -> None:
            # booked by finish_stream once the stream has ended
            out.stream, out.first_events = attempt.result
            out.upstream = attempt.up
            out.attempt_t0 = attempt.t0

        async def discard(result: tuple[UpstreamStream, list[bytes]]) -> None:
            await result[0].close()

        await self._attempt_loop(req, out, call, hedge=False, served=served, discard=discard)
        return out

    def finish_stream(self, req: ChatRequest, out: Outcome, failure: AttemptFailure | None,
                      *, cancelled: bool = False) -> None:
        """Record the streamed attempt once the stream has ended (well or not); what it
        carried is charged in every case (a cut or abandoned stream was still generated)."""
        up = out.upstream
        assert up is not None
        seconds = time.perf_counter() - out.attempt_t0
        n = out.attempts
        stream = out.stream
        usage = self._charge(req, up, stream.usage if stream else None,
                             stream.content_chars if stream else 0)
        if cancelled:
            self.ledger.cancelled(req, out, up, n, seconds, status=200, usage=usage)
        elif failure is None:
            self.ledger.succeeded(req, out, up, n, seconds, usage=usage)
            self._served(self.routes[req.route], req, out, up, seconds)
        else:
            self.ledger.stream_cut(req, out, up, n, failure, seconds, usage=usage)

    def _charge(self, req: ChatRequest, up: Upstream, usage: Any, completion_chars: int) -> Usage:
        """Tokens and cost of a served attempt, booked (gateway.accounting)."""
        # the prompt is measured only when the upstream reported no usable usage
        chars = prompt_chars(req.body) if reported(usage) is None else 0
        return self.accountant.charge(req.route, req.tenant, up.model, usage,
                                      prompt_chars=chars, completion_chars=completion_chars)


def _ask_for_usage(body: dict[str, Any]) -> bool:
    """Ask the upstream for the usage chunk of a stream (``stream_options.include_usage``);
    True when the client did not ask for it itself (the gateway then keeps it to itself)."""
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        return False
    if options is not None and not isinstance(options, dict):
        return False  # the client's own (invalid) value goes to the upstream as it is
    body["stream_options"] = {**(options or {}), "include_usage": True}
    return True
