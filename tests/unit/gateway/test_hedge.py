"""gateway.hedge: the inline first attempt, its timer watchdog, and interruption by a hedge."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.config import BreakerConfig, UpstreamConfig
from gateway.hedge import Attempt, HedgedAttempts
from gateway.upstream import Upstream


class Out:
    attempts = 0


class Policy:
    """Every attempt is slow after ``delay_s``; hedges while attempts < ``room``."""

    def __init__(self, delay_s: float | None, room: int = 2) -> None:
        self.delay_s = delay_s
        self.room = room
        self.slow_seen: list[str] = []
        self.hedges: list[str] = []

    def delay(self, up: Upstream) -> float | None:
        return self.delay_s

    def slow(self, attempt: Attempt, plan: list[Upstream]) -> None:
        self.slow_seen.append(attempt.up.name)

    def can_hedge(self, attempts: int) -> bool:
        return attempts < self.room

    def hedged(self, attempt: Attempt) -> None:
        self.hedges.append(attempt.up.name)


def ups(*names: str) -> list[Upstream]:
    return [Upstream(UpstreamConfig(name=n, base_url=f"http://{n}/v1", model=n), BreakerConfig())
            for n in names]


def admitted(plan: list[Upstream], out: Out):
    for up in plan:
        out.attempts += 1
        yield up, out.attempts


async def test_an_answer_before_the_delay_needs_no_task_and_no_hedge() -> None:
    plan, out, policy = ups("a", "b"), Out(), Policy(10.0)
    tasks = len(asyncio.all_tasks())

    async def call(up: Upstream) -> str:
        assert len(asyncio.all_tasks()) == tasks  # awaited inline: no task of its own
        return up.name

    s = HedgedAttempts(admitted(plan, out), call, policy, plan, out)
    first = await s.next_settled()
    assert first is not None and first.result == "a" and not first.slow
    assert first.timer is None  # the watchdog is cancelled with the answer
    assert policy.hedges == [] and s.abandon() == []


async def test_a_hedge_that_answers_interrupts_the_first_attempt() -> None:
    plan, out, policy = ups("a", "b"), Out(), Policy(0.01)
    cancelled: list[str] = []

    async def call(up: Upstream) -> str:
        if up.name == "a":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append("a")
                raise
        return up.name

    s = HedgedAttempts(admitted(plan, out), call, policy, plan, out)
    won = await asyncio.wait_for(s.next_settled(), 5)
    assert won is not None and won.up.name == "b" and won.result == "b"
    assert policy.slow_seen == ["a"] and policy.hedges == ["b"] and cancelled == ["a"]
    left = s.abandon()
    assert [(a.up.name, a.slow, a.result, a.error) for a in left] == [("a", True, None, None)]
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_client_that_leaves_while_a_hedge_interrupts_still_cancels_the_request() -> None:
    plan, out, policy = ups("a", "b"), Out(), Policy(0.01)
    request: list[asyncio.Task[Any]] = []

    async def call(up: Upstream) -> str:
        if up.name == "a":
            await asyncio.sleep(30)
        request[0].cancel()  # the client leaves just as the hedge answers
        return up.name

    s = HedgedAttempts(admitted(plan, out), call, policy, plan, out)
    request.append(asyncio.ensure_future(s.next_settled()))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(request[0], 5)
    assert sorted(a.up.name for a in s.abandon()) == ["a", "b"]  # both booked as cancelled


async def test_without_room_the_slow_attempt_is_only_reported() -> None:
    plan, out, policy = ups("a", "b"), Out(), Policy(0.01, room=1)

    async def call(up: Upstream) -> str:
        await asyncio.sleep(0.05)
        return up.name

    s = HedgedAttempts(admitted(plan, out), call, policy, plan, out)
    first = await s.next_settled()
    assert first is not None and first.result == "a" and first.slow
    assert policy.slow_seen == ["a"] and policy.hedges == []
