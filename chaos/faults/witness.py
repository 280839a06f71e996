"""The witness: small HTTP probes the harness sends *through the fault proxy* to see a network
fault bite, whatever proxy runs (the embedded one or a real Toxiproxy via ``TOXIPROXY_URL``).

A probe is one fresh TCP connection to the proxy's listen address, one request to the simulated
upstream's ``/_govchaos/ping`` endpoint (never logged, never faulted by the upstream itself),
read to the end. What comes back — refused, reset, closed early, stalled, or answered and how
fast — is the ground truth of what the proxy did to traffic on that path; the fault kinds'
effects (:mod:`chaos.faults.effects`) judge it. A fresh connection per probe matters: Toxiproxy
decides ``toxicity`` per connection.

>>> plan = WitnessPlan(probes=3, timeout_ms=1000)
>>> plan.request_bytes()[:31]
b'GET /_govchaos/ping?bytes=0 HTT'
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

ProbeOutcome = Literal["ok", "refused", "reset", "closed", "stalled", "error"]

# Between probes during a fault: enough to sample the window, few enough to cost nothing.
PROBE_GAP_S = 0.05
BASELINE_TIMEOUT_MS = 500.0


@dataclass(frozen=True, slots=True)
class WitnessProbe:
    """One probe: how it ended, after how long, and how many body bytes arrived."""

    outcome: ProbeOutcome
    elapsed_ms: float
    body_bytes: int = 0
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class WitnessPlan:
    """How to probe one fault: count, per-probe deadline, and the bytes each way.

    ``enough`` (optional) ends probing early once the observations settle the question, e.g.
    the first affected probe of a fault with ``toxicity`` below 1.
    """

    probes: int
    timeout_ms: float
    response_bytes: int = 0  # asked of the upstream (downstream bandwidth)
    upload_bytes: int = 0  # sent with the request (upstream bandwidth)
    baseline_probes: int = 2  # taken just before the fault is applied
    enough: Callable[[Sequence[WitnessProbe]], bool] | None = field(default=None, compare=False)

    def request_bytes(self) -> bytes:
        method = "POST" if self.upload_bytes else "GET"
        head = (f"{method} /_govchaos/ping?bytes={self.response_bytes} HTTP/1.1\r\n"
                f"Host: govchaos-witness\r\nConnection: close\r\n"
                f"Content-Length: {self.upload_bytes}\r\n\r\n")
        return head.encode() + b"." * self.upload_bytes


@dataclass(frozen=True, slots=True)
class WitnessReport:
    """Probes before the fault was applied (baseline) and while it was in force."""

    baseline: tuple[WitnessProbe, ...] = ()
    during: tuple[WitnessProbe, ...] = ()


async def probe(host: str, port: int, plan: WitnessPlan, timeout_ms: float | None = None) -> WitnessProbe:
    """Send one probe; never raises (every failure is an outcome)."""
    limit_s = (plan.timeout_ms if timeout_ms is None else timeout_ms) / 1000.0
    started = time.monotonic()

    def elapsed() -> float:
        return round((time.monotonic() - started) * 1000.0, 3)

    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(max(limit_s, 0.001)):
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except ConnectionRefusedError:
                return WitnessProbe("refused", elapsed())
            writer.write(plan.request_bytes())
            await writer.drain()
            data = await reader.read()  # Connection: close, so EOF ends the answer
    except TimeoutError:
        return WitnessProbe("stalled", elapsed())
    except (ConnectionResetError, BrokenPipeError) as exc:
        return WitnessProbe("reset", elapsed(), detail=type(exc).__name__)
    except OSError as exc:
        return WitnessProbe("error", elapsed(), detail=f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.transport.abort()
    return _judge(data, plan, elapsed())


def _judge(data: bytes, plan: WitnessPlan, elapsed_ms: float) -> WitnessProbe:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not data:
        return WitnessProbe("closed", elapsed_ms, detail="closed before any answer")
    if not sep or not head.startswith(b"HTTP/1.1 200"):
        return WitnessProbe("closed", elapsed_ms, len(body), detail="incomplete or not 200")
    if len(body) < plan.response_bytes:
        return WitnessProbe("closed", elapsed_ms, len(body), detail="body cut short")
    return WitnessProbe("ok", elapsed_ms, len(body))


async def baseline(host: str, port: int, plan: WitnessPlan) -> tuple[WitnessProbe, ...]:
    """``plan.baseline_probes`` probes in a row (before the fault is applied), each bounded by
    :data:`BASELINE_TIMEOUT_MS` so a sick path cannot delay the fault's apply for long."""
    limit = min(plan.timeout_ms, BASELINE_TIMEOUT_MS)
    return tuple([await probe(host, port, plan, timeout_ms=limit)
                  for _ in range(plan.baseline_probes)])


async def observe(
    host: str, port: int, plan: WitnessPlan, *, until: float, sink: list[WitnessProbe]
) -> None:
    """Probe until ``plan.probes`` are done, ``plan.enough`` says so, or the monotonic time
    ``until`` (the planned revert): a probe never runs past it. Appends to ``sink`` as it goes,
    so a caller that cancels this keeps what was observed."""
    while len(sink) < plan.probes:
        left_ms = (until - time.monotonic()) * 1000.0
        if left_ms < 20:
            return
        sink.append(await probe(host, port, plan, timeout_ms=min(plan.timeout_ms, left_ms)))
        if plan.enough is not None and plan.enough(sink):
            return
        await asyncio.sleep(PROBE_GAP_S)
