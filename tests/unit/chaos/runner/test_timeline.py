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


class RendezvousCtx(Ctx):
    """Each revert (``up``) waits until every target's revert has started: sequential reverts
    would wait forever for the next one."""

    def __init__(self, clock: FakeClock, targets: set[str]) -> None:
        super().__init__(clock)
        self.pending = set(targets)
        self.all_started = asyncio.Event()

    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        if enabled:
            self.pending.discard(upstream)
            if not self.pending:
                self.all_started.set()
            await self.all_started.wait()
        await super().set_enabled(upstream, enabled)


async def test_faults_due_at_the_same_instant_on_different_targets_run_concurrently() -> None:
    clock = FakeClock(start=100.0)
    ctx = RendezvousCtx(clock, {"x", "y", "z"})
    faults = [fault("a", "upstream_down", "x", 1, 2), fault("b", "upstream_down", "y", 1, 2),
              fault("c", "upstream_down", "z", 1, 2)]
    timeline = FaultTimeline(faults, default_registry(), ctx, clock, run_start=100.0)
    await asyncio.wait_for(timeline.run(phase_start=100.0), timeout=10)
    assert sorted(ctx.log) == [(101.0, t, "down") for t in "xyz"] + [(103.0, t, "up") for t in "xyz"]
    assert all(f.status == "reverted" for f in timeline.applied())


async def test_faults_on_one_target_at_the_same_instant_stay_in_order() -> None:
    clock = FakeClock(start=0.0)
    ctx = Ctx(clock)
    faults = [fault("a", "upstream_down", "x", 1, 2), fault("b", "error_500", "x", 3, 1),
              fault("c", "malformed_output", "x", 3, 1)]
    timeline = FaultTimeline(faults, default_registry(), ctx, clock, run_start=0.0)
    await timeline.run(phase_start=0.0)
    # the revert of a (at 3) comes before the applies at 3, which keep the scenario's order
    assert [e[1:] for e in ctx.log] == [("x", "down"), ("x", "up"), ("x", "error_500"),
                                        ("x", "malformed_json"), ("x", "clear"), ("x", "clear")]


class FailingRevertCtx(Ctx):
    async def set_enabled(self, upstream: str, enabled: bool) -> None:
        if enabled and upstream == "x":
            raise RuntimeError("proxy API said 500")
        await super().set_enabled(upstream, enabled)


async def test_a_failing_revert_does_not_stop_the_others_due_at_the_same_instant() -> None:
    clock = FakeClock(start=0.0)
    ctx = FailingRevertCtx(clock)
    faults = [fault("a", "upstream_down", "x", 1, 1), fault("b", "upstream_down", "y", 1, 1)]
    timeline = FaultTimeline(faults, default_registry(), ctx, clock, run_start=0.0)
    with pytest.raises(FaultApplyError, match="'a' could not be reverted"):
        await timeline.run(phase_start=0.0)
    assert {f.name: f.status for f in timeline.applied()} == {"a": "failed", "b": "reverted"}
    assert (2.0, "y", "up") in ctx.log
