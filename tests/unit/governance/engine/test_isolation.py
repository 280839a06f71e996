"""Engines compile and evaluate in child processes: bounded in time and memory, crash-isolated.

Invariant 6 (DESIGN.md §5): a pathological policy fails closed without blocking others.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from governance.decision import DecisionInput
from governance.engine import create_engine, load_bundle
from governance.engine.bundle import RegoModule, build_bundle
from governance.errors import PolicyCompileError

ENGINES_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "engines"
REGO = 'package govchaos.gateway\ndecision := {"allow": true, "allowed": ["m"]}\n'


@pytest.fixture
def scripted(monkeypatch):
    """A factory of ScriptedEngine instances whose children can import the engine module."""
    monkeypatch.syspath_prepend(str(ENGINES_DIR))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ENGINES_DIR), os.environ.get("PYTHONPATH", "")]))
    from scripted_engine import ScriptedEngine

    made = []

    def make(data=None, **kw):
        bundle = build_bundle("scripted", [RegoModule("p.rego", REGO)], data or {})
        engine = ScriptedEngine(bundle, cache=False, **kw)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        if engine.pool is not None:
            engine.pool.close()


def _inp(route: str, tenant: str = "t") -> DecisionInput:
    return DecisionInput(route=route, tenant=tenant)


async def test_hung_decision_times_out_and_others_are_served(scripted) -> None:
    engine = scripted(decision_timeout_ms=300, workers=2)
    first_pids = set(engine.pool.pids)
    hang = asyncio.create_task(engine.decide(_inp("hang")))
    await asyncio.sleep(0.05)
    t0 = time.monotonic()
    served = await asyncio.gather(*(engine.decide(_inp("ok", f"t{i}")) for i in range(20)))
    assert time.monotonic() - t0 < 0.25  # all served while the hung one still waits
    assert all(d.allow for d in served)
    d = await hang
    assert not d.allow and d.reasons[0].startswith("policy_timeout: no decision within")
    for _ in range(200):
        if engine.pool.replacements == 1 and len(engine.pool.pids) == 2:
            break
        await asyncio.sleep(0.025)
    assert engine.pool.replacements == 1
    assert len(set(engine.pool.pids) & first_pids) == 1  # the stuck child was the one replaced
    assert (await engine.decide(_inp("ok"))).allow


async def test_crash_costs_one_decision(scripted) -> None:
    engine = scripted(decision_timeout_ms=2000, workers=1)
    crash = asyncio.create_task(engine.decide(_inp("crash")))
    queued = asyncio.create_task(engine.decide(_inp("ok")))  # waits behind the crash
    d = await crash
    assert not d.allow
    assert d.reasons[0].startswith("policy_engine_error: the policy evaluation process died")
    assert "SIGSEGV" in d.reasons[0]
    assert (await queued).allow  # evaluated by the replacement child, within its deadline


async def test_engine_exception_is_a_deny_and_the_child_lives(scripted) -> None:
    engine = scripted(workers=1)
    pids = engine.pool.pids
    d = await engine.decide(_inp("raise"))
    assert not d.allow and "scripted failure" in d.reasons[0]
    assert (await engine.decide(_inp("ok"))).allow and engine.pool.pids == pids


def test_compile_is_bounded_in_time(scripted) -> None:
    t0 = time.monotonic()
    with pytest.raises(PolicyCompileError, match="took longer than 0.5 s"):
        scripted({"compile_sleep_s": 30}, compile_timeout_s=0.5)
    assert time.monotonic() - t0 < 5


async def test_pool_survives_a_new_event_loop(scripted) -> None:
    engine = scripted()
    assert (await engine.decide(_inp("ok"))).allow
    # A second loop (the CLI calls asyncio.run more than once on one engine).
    other = await asyncio.to_thread(asyncio.run, engine.decide(_inp("ok", "t2")))
    assert other.allow


async def test_allocation_storm_is_bounded_by_the_memory_cap(tmp_path) -> None:
    """The probe's numbers.range(1, 1e8): ~2.4 GB in one builtin, no instruction limit applies."""
    (tmp_path / "p.rego").write_text(
        'package govchaos.gateway\n'
        'decision := {"allow": count(numbers.range(1, 100000000)) < 0, "allowed": []}\n')
    engine = create_engine("regorus", load_bundle(tmp_path), decision_timeout_ms=3000,
                           memory_mb=256, workers=1)
    try:
        t0 = time.monotonic()
        d = await engine.decide(_inp("r"))
        assert time.monotonic() - t0 < 3
        assert not d.allow
        assert d.reasons[0].startswith(("policy_engine_error", "policy_timeout")), d.reasons
    finally:
        engine.pool.close()


async def test_reload_compiles_in_a_child_and_swaps(tmp_path) -> None:
    (tmp_path / "p.rego").write_text(REGO)
    engine = create_engine("regorus", load_bundle(tmp_path), workers=1)
    old = engine.pool
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "p.rego").write_text('package govchaos.gateway\ndecision := {"allow": false, "reasons": ["new"]}\n')
    await engine.reload(load_bundle(deep))
    assert engine.pool is not old and old.pids == ()
    assert (await engine.decide(_inp("r"))).reasons == ("new",)
    await engine.close()
    assert engine.pool.pids == ()
