"""The background breaker prober (``breaker.probe: background``, the default).

Once per open period it sends each half-open upstream one health probe, so a client request
never pays for finding out whether an upstream is back. Probes carry no client data: a fixed
one-word prompt, ``max_tokens`` 1, and the markers below, so an upstream's request log can tell
them from client traffic (they are not requests any policy decided on). Each is audited as
``kind: probe``.

A probe is judged like an attempt. For an upstream the hang watchdog ejected as slow
(:mod:`gateway.watchdog`), ``probe_timeout`` shortens its timeout to a multiple of its slow
threshold, so a still-hanging upstream fails its probe quickly and a restored one is back within
about one open period.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping

import orjson

from gateway.attempt import complete
from gateway.breaker import OPEN
from gateway.failures import AttemptFailure, ClientFault
from gateway.ledger import AuditSink
from gateway.metrics import GatewayMetrics
from gateway.transport.base import Transport
from gateway.upstream import Upstream

PROBE_HEADER = "X-Govchaos-Probe"
PROBE_USER = "govchaos:probe"
PROBE_REQUEST_ID_PREFIX = "govchaos-probe-"
DEFAULT_PROBE_TIMEOUT_S = 2.0


class BreakerProber:
    """Probes half-open upstreams in the background; :meth:`start` / :meth:`close`."""

    def __init__(self, upstreams: Mapping[str, Upstream], transport: Transport,
                 timeouts_s: Mapping[str, float], *, audit: AuditSink, metrics: GatewayMetrics,
                 clock: Callable[[], float],
                 probe_timeout: Callable[[Upstream, float], float] | None = None) -> None:
        self.upstreams = upstreams
        self.transport = transport
        self.timeouts_s = dict(timeouts_s)
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.probe_timeout = probe_timeout  # (upstream, configured timeout) -> timeout to use
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start probing (needs a running loop) if any upstream's breaker probes in the background."""
        if self._task is None and any(u.breaker.background_probe for u in self.upstreams.values()):
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="govchaos-breaker-prober")

    def wake(self) -> None:
        """A breaker opened: recompute when the next probe is due."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._probes) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None
        idle_s = min([u.breaker.open_s for u in self.upstreams.values()] + [1.0])
        while True:
            wait = idle_s
            for up in self.upstreams.values():
                breaker = up.breaker
                if not breaker.background_probe or up.gpu_state == "lost":
                    continue  # a lost GPU gets no traffic at all, probes included
                if breaker.try_probe():
                    task = asyncio.ensure_future(self.probe(up))
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

    async def probe(self, up: Upstream) -> None:
        """One health probe: a fixed tiny completion (no client data) judged like an attempt;
        success closes the breaker, failure re-opens it. Audited as ``kind: probe``."""
        request_id = PROBE_REQUEST_ID_PREFIX + os.urandom(8).hex()
        body = orjson.dumps({
            "model": up.model, "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1, "stream": False, "user": PROBE_USER,
        })
        headers = {**up.headers, "X-Govchaos-Request-Id": request_id, PROBE_HEADER: "1"}
        timeout_s = self.timeouts_s.get(up.name, DEFAULT_PROBE_TIMEOUT_S)
        if self.probe_timeout is not None:
            timeout_s = self.probe_timeout(up, timeout_s)
        t = time.perf_counter()
        status: int | None = 200
        reason: str | None = None
        try:
            await complete(self.transport, up, body, headers, timeout_s, None)
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
            up.failed_probes = 0
            if reason is None and up.latency is not None:
                up.latency.add(seconds * 1000.0)  # a slower-but-alive upstream lifts its threshold
            up.breaker.record_success()
            outcome = "ok"
        else:
            up.failed_probes += 1
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
