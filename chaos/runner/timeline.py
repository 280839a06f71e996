"""The fault timeline: apply each fault at ``at_s`` and repair it ``duration_s`` later.

Times in the scenario are relative to the start of the fault phase; what the timeline records
(:class:`AppliedFault`) is relative to the start of the run, like request records. Whatever
happens (a stop condition, Ctrl-C, a crash) :meth:`FaultTimeline.revert_all` repairs every fault
still in force, so a run never leaves an upstream broken.

The timeline also gathers the evidence each fault's effect is judged on
(:mod:`chaos.faults.effects`) that only exists while the fault runs: witness probes through the
fault proxy (a baseline just before the apply, then probes until the revert) and read-backs of
the GPU control file (at the apply and just before the revert). The upstreams' request logs, the
rest of the evidence, are read after the run.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.faults import witness
from chaos.faults.base import FaultApplyError, FaultContext, Revert
from chaos.faults.effects import Effect, GpuReading, gpu_devices, witness_plan
from chaos.faults.witness import WitnessProbe, WitnessReport
from chaos.faults.registry import FaultRegistry
from chaos.report.records import AppliedFault
from chaos.runner.clock import Clock
from chaos.scenario.model import FaultSpec

log = logging.getLogger(__name__)


@dataclass
class LiveEvidence:
    """What was observed while one fault ran (the witness and GPU read-backs)."""

    effect: Effect | None = None
    baseline: tuple[WitnessProbe, ...] = ()
    during: list[WitnessProbe] = field(default_factory=list)
    gpu: list[GpuReading] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def witness_report(self) -> WitnessReport | None:
        if self.effect is None or witness_plan(self.effect) is None:
            return None
        return WitnessReport(baseline=self.baseline, during=tuple(self.during))


class FaultTimeline:
    """Drives the faults of one run against a :class:`FaultContext`."""

    def __init__(
        self,
        faults: Sequence[FaultSpec],
        registry: FaultRegistry,
        ctx: FaultContext,
        clock: Clock,
        *,
        run_start: float,
        on_event: Callable[[str, AppliedFault], None] | None = None,
    ) -> None:
        self._faults = list(faults)
        self._registry = registry
        self._ctx = ctx
        self._clock = clock
        self._run_start = run_start
        self._on_event = on_event
        self._active: dict[str, Revert] = {}
        self._evidence: dict[str, LiveEvidence] = {}
        self._state: dict[str, AppliedFault] = {
            f.name or f.kind: AppliedFault(
                name=f.name or f.kind,
                kind=f.kind,
                target=f.target,
                params=dict(f.params),
                planned_at_s=f.at_s,
                planned_duration_s=f.duration_s,
            )
            for f in self._faults
        }

    def _elapsed(self) -> float:
        return self._clock.now() - self._run_start

    def applied(self) -> list[AppliedFault]:
        """Every fault in timeline order, with what happened to it so far."""
        return list(self._state.values())

    def active(self) -> list[str]:
        return list(self._active)

    def evidence(self, name: str) -> LiveEvidence:
        """The live evidence gathered for fault ``name`` (empty if it never ran)."""
        return self._evidence.get(name) or LiveEvidence()

    def _update(self, name: str, event: str, **changes: Any) -> None:
        self._state[name] = self._state[name].model_copy(update=changes)
        if self._on_event is not None:
            self._on_event(event, self._state[name])

    async def run(self, phase_start: float) -> None:
        """Apply and revert every fault on schedule; returns when the last one is reverted.

        ``phase_start`` is the clock reading the scenario's ``at_s`` are relative to.
        Raises FaultApplyError when a fault cannot be applied or reverted.
        """
        # (time, order, fault): reverts (0) sort before applies (1) at the same instant so
        # back-to-back faults on one target do not overlap.
        events: list[tuple[float, int, FaultSpec]] = []
        for fault in self._faults:
            events.append((fault.at_s, 1, fault))
            events.append((fault.end_s, 0, fault))
        events.sort(key=lambda e: (e[0], e[1]))
        for (at_s, order), group in itertools.groupby(events, key=lambda e: (e[0], e[1])):
            delay = phase_start + at_s - self._clock.now()
            if delay > 0:
                await self._clock.sleep(delay)
            await self._at_once([e[2] for e in group], apply=order == 1)

    async def _at_once(self, faults: list[FaultSpec], *, apply: bool) -> None:
        """Apply (or revert) faults due at the same instant together: one per target at a time,
        different targets concurrently. Done one after another, a slow step (restarting a
        killed upstream takes seconds on a busy machine) delayed the next fault's revert past
        its window and the phases after it."""
        lanes: dict[str, list[FaultSpec]] = {}
        for fault in faults:
            lanes.setdefault(fault.target, []).append(fault)

        async def lane(queue: list[FaultSpec]) -> None:
            for fault in queue:
                if apply:
                    await self._apply(fault)
                else:
                    await self._revert(fault.name or fault.kind)

        results = await asyncio.gather(*(lane(q) for q in lanes.values()), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _apply(self, fault: FaultSpec) -> None:
        name = fault.name or fault.kind
        kind = self._registry.get(fault.kind)
        params = self._registry.parse_params(fault)
        live = self._evidence[name] = LiveEvidence()
        try:
            live.effect = kind.effect(fault, params, self._ctx.upstream(fault.target))
            plan = witness_plan(live.effect)
            if plan is not None:
                host, port = self._ctx.proxy_address(fault.target)
                live.baseline = await witness.baseline(host, port, plan)
            revert = await kind.apply(self._ctx, fault, params)
        except Exception as exc:
            self._update(name, "failed", status="failed", error=f"apply: {exc}")
            raise FaultApplyError(f"fault {name!r} ({fault.kind}) could not be applied: {exc}") from exc
        self._active[name] = revert
        self._update(name, "applied", status="applied", applied_at_s=self._elapsed())
        self._read_gpu(live, "applied")
        if plan is not None:
            # Probes end before the planned revert (monotonic time, like asyncio's clock).
            until = time.monotonic() + max(0.0, fault.duration_s - 0.05)
            live.task = asyncio.create_task(
                witness.observe(host, port, plan, until=until, sink=live.during))

    def _read_gpu(self, live: LiveEvidence, when: str) -> None:
        if live.effect is None:
            return
        for device in gpu_devices(live.effect):
            try:
                entry = self._ctx.gpu.overrides().get(device)
            except Exception as exc:  # an unreadable control file shows the gateway nothing
                log.warning("GPU control file read-back failed: %s", exc)
                entry = None
            live.gpu.append(GpuReading(when=when, state=getattr(entry, "state", None),
                                       xid=getattr(entry, "xid", None)))

    async def _stop_witness(self, name: str) -> None:
        live = self._evidence.get(name)
        if live is None or live.task is None:
            return
        task, live.task = live.task, None
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _revert(self, name: str) -> None:
        revert = self._active.pop(name, None)
        if revert is None:
            return
        await self._stop_witness(name)
        live = self._evidence.get(name)
        if live is not None:
            self._read_gpu(live, "before_revert")
        self._state[name] = self._state[name].model_copy(
            update={"revert_started_at_s": self._elapsed()})
        try:
            await revert()
        except Exception as exc:
            self._update(name, "failed", status="failed", error=f"revert: {exc}")
            raise FaultApplyError(f"fault {name!r} could not be reverted: {exc}") from exc
        self._update(name, "reverted", status="reverted", reverted_at_s=self._elapsed())

    async def revert_all(self) -> list[str]:
        """Repair every fault still in force; mark never-applied ones ``not_reached``.

        Never raises: errors are recorded on the fault and returned as messages, because this
        runs during teardown where the first error must not hide the others.
        """
        problems: list[str] = []
        for name in list(self._active):
            try:
                await self._revert(name)
            except FaultApplyError as exc:
                log.warning("%s", exc)
                problems.append(exc.message)
        for name, state in self._state.items():
            if state.status == "planned":
                self._state[name] = state.model_copy(update={"status": "not_reached"})
        return problems
