from __future__ import annotations

import asyncio

import pytest

from chaos.faults import default_registry
from chaos.faults.base import FaultApplyError
from chaos.runner.clock import FakeClock
from chaos.runner.timeline import FaultTimeline
from chaos.scenario.model import FaultSpec, UpstreamSpec


class Ctx:
    def __init__(self, clock: FakeClock, fail_on: str | None = None) -> None:
        self.clock = clock
        self.log: list[tuple[float, str, str]] = []
        self.proxy = self
        self.providers = self
        self.gpu = self
        self.fail_on = fail_on

    def upstream(self, name: str) -> UpstreamSpec:
        return UpstreamSpec(name=name, model="m", hosting="cloud", region="eu")

    def proxy_address(self, name: str) -> tuple[str, int]:
        return ("127.0.0.1", 9)  # nothing listens: witness probes are refused at once

    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        if self.fail_on == upstream:
            raise RuntimeError("proxy API said 500")
        self.log.append((self.clock.now(), upstream, "up" if enabled else "down"))

    async def set_fault(self, upstream, kind, params) -> None:
        self.log.append((self.clock.now(), upstream, kind))

    async def clear_fault(self, upstream) -> None:
        self.log.append((self.clock.now(), upstream, "clear"))


def fault(name: str, kind: str, target: str, at: float, dur: float) -> FaultSpec:
    return FaultSpec(name=name, kind=kind, target=target, at_s=at, duration_s=dur)


async def test_applies_and_reverts_on_schedule() -> None:
    clock = FakeClock(start=100.0)
    ctx = Ctx(clock)
    faults = [fault("a", "upstream_down", "x", 2, 3), fault("b", "error_500", "y", 1, 1)]
    timeline = FaultTimeline(faults, default_registry(), ctx, clock, run_start=90.0)
    await timeline.run(phase_start=100.0)
    assert ctx.log == [
        (101.0, "y", "error_500"),
        (102.0, "y", "clear"),
        (102.0, "x", "down"),
        (105.0, "x", "up"),
    ]
    applied = {f.name: f for f in timeline.applied()}
    assert applied["a"].applied_at_s == 12.0 and applied["a"].reverted_at_s == 15.0
    assert applied["b"].status == "reverted"


async def test_cancel_midway_reverts_active_and_marks_unreached() -> None:
    clock = FakeClock()
    ctx = Ctx(clock)
    faults = [fault("a", "upstream_down", "x", 0, 10), fault("b", "error_500", "y", 50, 1)]
    timeline = FaultTimeline(faults, default_registry(), ctx, clock, run_start=clock.now())

    real_sleep = clock.sleep

    async def slow_sleep(seconds: float) -> None:  # never returns: the run is interrupted
        await asyncio.sleep(3600)

    clock.sleep = slow_sleep  # type: ignore[method-assign]
    task = asyncio.create_task(timeline.run(phase_start=clock.now()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    clock.sleep = real_sleep  # type: ignore[method-assign]
    assert await timeline.revert_all() == []
    states = {f.name: f.status for f in timeline.applied()}
    assert states == {"a": "reverted", "b": "not_reached"}
    assert ctx.log[-1][2] == "up"


async def test_apply_failure_is_recorded_and_raised() -> None:
    clock = FakeClock()
    ctx = Ctx(clock, fail_on="x")
    timeline = FaultTimeline(
        [fault("a", "upstream_down", "x", 0, 1)], default_registry(), ctx, clock,
        run_start=clock.now(),
    )
    with pytest.raises(FaultApplyError):
        await timeline.run(phase_start=clock.now())
    (state,) = timeline.applied()
    assert state.status == "failed" and "proxy API said 500" in (state.error or "")
