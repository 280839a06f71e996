"""Prometheus metrics of one gateway instance (its own registry, so tests can run several).

Names (all prefixed ``govchaos_gateway_``):

- ``requests_total{route,model,status}``            chat requests by outcome
- ``upstream_attempts_total{upstream,outcome}``     every attempt (``ok`` or a failover reason)
- ``failovers_total{upstream,reason}``              attempts that made the router move on
- ``breaker_state{upstream}``                       0 closed, 1 half-open, 2 open
- ``upstream_latency_seconds{upstream}``            histogram of attempt latency
- ``overhead_seconds``                              histogram: request time minus upstream time
- ``policy_decision_seconds``                       histogram of policy decision latency
- ``gpu_health{device}``                            0 healthy, 1 degraded, 2 lost
- ``upstream_in_rotation{upstream}``                1 when usable right now (scrape time)
- ``slow_attempts_total{upstream}``                 attempts that passed their slow threshold
- ``upstream_ejections_total{upstream,reason}``     breakers opened by the watchdog (``latency``)
- ``hedges_total{route}``                           hedges started
- ``hedges_denied_total{route}``                    hedges the hedge budget refused
- ``hedge_budget_tokens``                           hedges the budget allows now
- ``audit_available``                               1 while audit records can be made durable
- ``audit_write_failures_total{errno}``             times the audit log became unavailable
- ``audit_refused_total``                           requests refused (503 audit_unavailable)
- ``audit_unaudited_total``                         requests served unaudited (on_failure: degrade)
- ``audit_segments_sealed_total``                   segments compressed and given a manifest
- ``audit_segments_shipped_total{sink}``            segments shipped and verified, per sink
- ``audit_ship_failures_total{sink}``               failed or unverified shipments, per sink

Accounting and budgets, named as issue 11 names them (no ``gateway_`` infix):
``govchaos_tokens_total{route,tenant,model,kind}``, ``govchaos_cost_usd_total{route,tenant,model}``
(:mod:`gateway.accounting`), ``govchaos_budget_spent_usd{scope,name}``,
``govchaos_budget_limit_usd{scope,name}`` and ``govchaos_budget_remaining_ratio{scope,name}``
(:mod:`gateway.budget`, set at scrape time).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.accounting import AccountingMetrics
from gateway.breaker import STATE_VALUE

GPU_VALUE = {"healthy": 0, "degraded": 1, "lost": 2}
# prometheus_client's multiprocess mode: set by gateway.supervisor for its workers only
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_STEP_LABELS = 256  # distinct workflow steps labelled (clients choose them: bound them)
_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
_SLOW = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        p = "govchaos_gateway_"
        self.requests = Counter(p + "requests", "Chat completion requests", ["route", "model", "status"], registry=r)
        self.attempts = Counter(p + "upstream_attempts", "Upstream attempts", ["upstream", "outcome"], registry=r)
        self.failovers = Counter(p + "failovers", "Failovers by reason", ["upstream", "reason"], registry=r)
        self.breaker = Gauge(p + "breaker_state", "Circuit breaker state (0 closed, 1 half-open, 2 open)", ["upstream"], registry=r)
        self.upstream_latency = Histogram(p + "upstream_latency_seconds", "Upstream attempt latency", ["upstream"], buckets=_SLOW, registry=r)
        self.overhead = Histogram(p + "overhead_seconds", "Gateway time excluding upstream attempts", buckets=_FAST, registry=r)
        self.decision = Histogram(p + "policy_decision_seconds", "Policy decision latency", buckets=_FAST, registry=r)
        self.gpu = Gauge(p + "gpu_health", "GPU health (0 healthy, 1 degraded, 2 lost)", ["device"], registry=r)
        self.in_rotation = Gauge(p + "upstream_in_rotation", "Upstream usable now (1) or not (0)", ["upstream"], registry=r)
        self.slow_attempts = Counter(p + "slow_attempts", "Attempts that passed their upstream's slow threshold", ["upstream"], registry=r)
        self.ejections = Counter(p + "upstream_ejections", "Upstreams ejected (breaker opened) as outliers", ["upstream", "reason"], registry=r)
        self.hedges = Counter(p + "hedges", "Hedged attempts started", ["route"], registry=r)
        self.hedges_denied = Counter(p + "hedges_denied", "Hedges refused by the hedge budget", ["route"], registry=r)
        self.hedge_budget = Gauge(p + "hedge_budget_tokens", "Hedges the hedge budget allows now", registry=r)
        self.audit_available = Gauge(p + "audit_available", "Audit records can be made durable (1) or not (0)", registry=r)
        self.audit_available.set(1)
        self.audit_failures = Counter(p + "audit_write_failures", "Times the audit log became unavailable", ["errno"], registry=r)
        self.audit_refused = Counter(p + "audit_refused", "Requests refused because the audit log could not record them", registry=r)
        self.audit_unaudited = Counter(p + "audit_unaudited", "Requests served without an audit record (on_failure: degrade)", registry=r)
        self.audit_sealed = Counter(p + "audit_segments_sealed", "Audit segments sealed", registry=r)
        self.audit_shipped = Counter(p + "audit_segments_shipped", "Audit segments shipped and verified", ["sink"], registry=r)
        self.audit_ship_failures = Counter(p + "audit_ship_failures", "Audit segment shipments that failed or did not verify", ["sink"], registry=r)
        # Outcome counts per agent-workflow step (X-Govchaos-Step, ``<workflow>/<step>``);
        # at most MAX_STEP_LABELS distinct steps, later ones count as "other".
        self.budget_spent = Gauge("govchaos_budget_spent_usd", "US dollars spent in the budget's sliding hour", ["scope", "name"], registry=r)
        self.budget_limit = Gauge("govchaos_budget_limit_usd", "The budget's limit per sliding hour", ["scope", "name"], registry=r)
        self.budget_remaining = Gauge("govchaos_budget_remaining_ratio", "Share of the budget left (exact, not the policy input's quantised value)", ["scope", "name"], registry=r)
        self.workflow_steps = Counter(p + "workflow_step_requests", "Chat completion requests per agent-workflow step", ["step", "status"], registry=r)
        self._step_children: dict[tuple[str, str], object] = {}
        # weighted splits (gateway.split): the version picked first, and the achieved shares
        self.split_picks = Counter("govchaos_split_picks", "Requests a route's weighted split sent first to this model", ["route", "model"], registry=r)
        self.split_served = Counter("govchaos_split_served", "Requests of a split route served, per model and version", ["route", "model", "version"], registry=r)
        self.split_share = Gauge("govchaos_split_share", "Share of a split route's served requests each model served", ["route", "model"], registry=r)
        # shadow traffic (gateway.shadow)
        self.shadow_requests = Counter("govchaos_shadow_requests", "Shadow (mirrored) requests by outcome (denied: refused by the policy, never sent)", ["route", "model", "outcome"], registry=r)
        self.shadow_latency = Histogram("govchaos_shadow_latency_seconds", "Shadow call latency", ["route", "model"], buckets=_SLOW, registry=r)
        self.shadow_in_flight = Gauge("govchaos_shadow_in_flight", "Shadow calls in flight", registry=r)
        # govchaos_tokens_total / govchaos_cost_usd_total (gateway.accounting)
        self.accounting = AccountingMetrics(r)
        self._attempt_children: dict[tuple[str, str], object] = {}
        self._request_children: dict[tuple[str, str, str], object] = {}
        self._latency_children: dict[str, object] = {}

    # Label lookups cost a few µs each; the hot path caches the children.
    def attempt(self, upstream: str, outcome: str, seconds: float, *, failover: bool) -> None:
        key = (upstream, outcome)
        child = self._attempt_children.get(key)
        if child is None:
            child = self._attempt_children[key] = self.attempts.labels(upstream, outcome)
        child.inc()  # type: ignore[attr-defined]
        lat = self._latency_children.get(upstream)
        if lat is None:
            lat = self._latency_children[upstream] = self.upstream_latency.labels(upstream)
        lat.observe(seconds)  # type: ignore[attr-defined]
        if failover:
            self.failovers.labels(upstream, outcome).inc()

    def request(self, route: str, model: str, status: str, step: str | None = None) -> None:
        key = (route, model, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, model, status)
        child.inc()  # type: ignore[attr-defined]
        if step is not None:
            self._workflow_step(step, status)

    def _workflow_step(self, step: str, status: str) -> None:
        key = (step, status)
        child = self._step_children.get(key)
        if child is None:
            known = {s for s, _ in self._step_children}
            if step not in known and len(known) >= MAX_STEP_LABELS:
                key = ("other", status)
                child = self._step_children.get(key)
            if child is None:
                child = self._step_children[key] = self.workflow_steps.labels(*key)
        child.inc()  # type: ignore[attr-defined]

    def breaker_changed(self, upstream: str, state: str) -> None:
        self.breaker.labels(upstream).set(STATE_VALUE[state])

    def gpu_changed(self, device: int, state: str) -> None:
        self.gpu.labels(str(device)).set(GPU_VALUE.get(state, 1))

    def render(self) -> bytes:
        """The exposition. Under ``gateway serve --workers N`` (the supervisor sets
        :data:`MULTIPROCESS_ENV` for its workers) every worker's values are in that directory
        and any worker answers for all of them: counters and histograms summed over the
        workers, gauges one series per worker process (``pid`` label)."""
        directory = os.environ.get(MULTIPROCESS_ENV)
        if directory:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)
            return generate_latest(registry)
        return generate_latest(self.registry)
