"""The attempt ledger: what every attempt does to upstream state, metrics and the audit log.

One place books each way an attempt can end — :meth:`AttemptLedger.failed` (fail over),
:meth:`~AttemptLedger.succeeded`, :meth:`~AttemptLedger.client_fault` (400/422 passed back),
:meth:`~AttemptLedger.cancelled` (lost a hedge race or the client left) and
:meth:`~AttemptLedger.stream_cut` (failed after the first token): the breaker transition, the
EWMA latency, Retry-After skips, the attempt metric and the ``kind: attempt`` audit record.
Policies that judge attempts (adaptive hang detection, hedging) hook in here, not in the loop.

Audit records are enqueued with ``append_nowait``; a log that refuses one fails the request
with 503 ``audit_unavailable`` (``audit.on_failure: degrade`` serves it unaudited instead —
not compliant, counted). With ``audit.ack: durable`` :meth:`AttemptLedger.durable` waits until
the request's last record is durable (one group commit shared by concurrent requests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.accounting import Usage
from gateway.config import AuditConfig
from gateway.errors import AuditUnavailable, NoUpstreamAvailable, UpstreamRejected
from gateway.failures import AttemptFailure, ClientFault
from gateway.metrics import GatewayMetrics
from gateway.request import ChatRequest
from gateway.sse import UpstreamStream
from gateway.upstream import Upstream


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

    def header_dict(self) -> dict[str, str]:
        """The headers for an error response."""
        return {k.decode(): v.decode() for k, v in self.headers()}


def retry_after_s(ups: list[Upstream], now: float) -> float:
    """Whole seconds until the first of ``ups`` can be tried again (at least 1)."""
    waits = [u.retry_in_s(now) for u in ups]
    return max(1.0, math.ceil(min(waits))) if waits else 1.0


class AttemptLedger:
    """Books attempts and audit records for every request of one router."""

    def __init__(self, audit: AuditSink, cfg: AuditConfig, metrics: GatewayMetrics,
                 clock: Callable[[], float]) -> None:
        self.sink = audit
        self.metrics = metrics
        self.clock = clock
        self._wait_durable = getattr(audit, "wait_durable", None) if cfg.ack == "durable" else None
        self._degrade = cfg.on_failure == "degrade"
        self._retry_s = max(1.0, math.ceil(cfg.retry_ms / 1000.0))

    # -- the audit log ----------------------------------------------------------------------------
    def record(self, event: dict[str, Any], out: Outcome) -> None:
        """Enqueue an audit event; a log that refuses it fails the request (fail closed).

        Raises:
            AuditUnavailable: the audit log is closed, failed, or rejected the event.
        """
        try:
            seq = self.sink.append_nowait(event)
        except Exception as exc:
            if self._degrade and getattr(exc, "code", "") == "audit_unavailable":
                self.metrics.audit_unaudited.inc()
                out.audit_seq = -1
                return
            self.metrics.audit_refused.inc()
            raise AuditUnavailable("the audit log is unavailable; refusing to serve",
                                   retry_after_s=self._retry_s, headers=out.header_dict()) from exc
        if type(seq) is int:
            out.audit_seq = seq

    async def durable(self, out: Outcome) -> None:
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
                                   " withholding the answer", retry_after_s=self._retry_s,
                                   headers=out.header_dict()) from exc

    def status(self) -> dict[str, Any]:
        """For /readyz: whether the audit log can make records durable now, and why not."""
        available = getattr(self.sink, "available", True)
        status: dict[str, Any] = {"available": bool(available)}
        if not available:
            error = getattr(self.sink, "unavailable_error", None)
            status["reason"] = getattr(error, "message", "audit log unavailable")
        return status

    def _attempt(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, outcome: str,
                 status: int | None, seconds: float, reason: str | None,
                 usage: Usage | None = None) -> None:
        event = {
            "kind": "attempt", "request_id": req.request_id, "decision_id": out.decision_id,
            "upstream": up.name, "model": up.model, "attempt": n, "outcome": outcome,
            "status": status, "latency_ms": round(seconds * 1000, 3), "failover_reason": reason,
        }
        if req.workflow_id is not None or req.step is not None:
            event["workflow"] = {"workflow_id": req.workflow_id, "step": req.step}
        if usage is not None:  # tokens and cost of a served attempt (gateway.accounting)
            event.update(usage.audit())
        self.record(event, out)

    # -- how an attempt ended ---------------------------------------------------------------------
    def failed(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, f: AttemptFailure,
               seconds: float) -> None:
        """A failure before anything reached the client: the router fails over."""
        out.upstream_s += seconds
        if f.reason == "http_429" or f.retry_after_s is not None:
            up.skip_for(f.retry_after_s, self.clock())
        if f.reason == "http_429":
            up.breaker.release()  # rate limiting is not breakage; Retry-After handles it
        else:
            up.breaker.record_failure(timeout=f.reason == "timeout")
        out.failovers.append((up.name, f.reason))
        self.metrics.attempt(up.name, f.reason, seconds, failover=True)
        self._attempt(req, out, up, n, "failure", f.status, seconds, f.reason)

    def succeeded(self, req: ChatRequest, out: Outcome, up: Upstream, n: int,
                  seconds: float, *, usage: Usage | None = None) -> None:
        out.upstream_s += seconds
        up.breaker.record_success()
        up.observe_latency(seconds * 1000.0)
        out.upstream = up
        self.metrics.attempt(up.name, "ok", seconds, failover=False)
        self._attempt(req, out, up, n, "ok", 200, seconds, None, usage)

    def client_fault(self, req: ChatRequest, out: Outcome, up: Upstream, n: int,
                     fault: ClientFault, seconds: float) -> UpstreamRejected:
        """The upstream answered 400/422; returns the error that passes its answer back."""
        out.upstream_s += seconds
        up.breaker.record_success()  # it answered; the request was the problem
        out.upstream = up
        self.metrics.attempt(up.name, "client_error", seconds, failover=False)
        self._attempt(req, out, up, n, "client_error", fault.status, seconds, None)
        return UpstreamRejected(fault.status, fault.body, headers=out.header_dict())

    def cancelled(self, req: ChatRequest, out: Outcome, up: Upstream, n: int, seconds: float,
                  *, slow: bool = False, status: int | None = None,
                  usage: Usage | None = None) -> None:
        """Abandoned: lost a hedge race, or the client went away. ``slow``: it lost the race
        after leaving it unanswered for hedge_after_ms — counted against the breaker, or a
        hanging upstream would never open and every request would wait hedge_after_ms for it."""
        if slow:
            up.breaker.record_failure()
        else:
            up.breaker.release()
        self.metrics.attempt(up.name, "cancelled", seconds, failover=False)
        self._attempt(req, out, up, n, "cancelled", status, seconds, "slow" if slow else None,
                      usage)

    def stream_cut(self, req: ChatRequest, out: Outcome, up: Upstream, n: int,
                   failure: AttemptFailure, seconds: float, *,
                   usage: Usage | None = None) -> None:
        """Failed after the first token: too late to fail over (the client has content), so
        count it against the upstream and record why the stream was cut."""
        out.upstream_s += seconds
        up.breaker.record_failure()
        self.metrics.attempt(up.name, failure.reason, seconds, failover=False)
        self._attempt(req, out, up, n, "stream_error", 200, seconds, failure.reason, usage)

    def exhausted(self, out: Outcome, plan: list[Upstream]) -> NoUpstreamAvailable:
        """The error once every admitted attempt failed (or none was admitted)."""
        return NoUpstreamAvailable(
            "no allowed upstream could serve this request",
            reasons=tuple(f"{n}:{r}" for n, r in out.failovers) or ("all allowed upstreams unavailable",),
            retry_after_s=retry_after_s(plan, self.clock()), headers=out.header_dict(),
        )
