"""The workflow generator against a real simulated upstream on 127.0.0.1 (short, bounded)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chaos.load.workflow_models import WorkflowLoad
from chaos.load.workflows import WorkflowGenerator, iter_workflow_schedule
from chaos.providers import MockUpstreamSpec, SimulatedUpstream
from chaos.scenario.workflows import WorkflowSpec


def _workflow(**draft: object) -> WorkflowSpec:
    return WorkflowSpec.model_validate({
        "name": "claims", "tenant": "acme", "rate_per_s": 20,
        "steps": [
            {"id": "read", "route": "claims-triage", "data_classes": ["pii"], "text": "doc"},
            {"id": "draft", "route": "customer-chat", "data_classes": ["internal"],
             "from": ["read"], **draft},
        ],
    })


def _load(workflow: WorkflowSpec, **fields: object) -> WorkflowLoad:
    return WorkflowLoad(workflows=(workflow,), api_keys={"acme": "test-key-0001"},
                        duration_s=fields.pop("duration_s", 0.25), seed=3,
                        request_timeout_s=5, **fields)


@pytest.fixture
async def upstream() -> AsyncIterator[SimulatedUpstream]:
    up = SimulatedUpstream(MockUpstreamSpec(name="m", model="gpt-4o-cloud-eu"))
    await up.start()
    yield up
    await up.stop()


async def test_steps_run_in_order_with_headers_and_carry_markers_forward(upstream) -> None:
    generator = WorkflowGenerator(_load(_workflow(stream=True)), upstream.url, run_id="t")
    result = await asyncio.wait_for(generator.run(), 15)
    runs = generator.workflows()
    assert len(runs) == 5 and all(r.outcome == "succeeded" for r in runs)
    assert len(result.records) == 10 and result.ok == 10
    first = runs[0]
    assert [s.step for s in first.steps] == ["read", "draft"]
    assert first.steps[0].request_ids == ("t-w0.0.1",)
    by_id = {r.request_id: r for r in result.records}
    assert by_id["t-w0.1.1"].workflow_id == "t-w0" and by_id["t-w0.1.1"].step == "draft"
    log = {e.content_request_ids[0]: e for e in upstream.request_log}
    # The draft (built from read's answer, not redacted) carries read's marker.
    assert log["t-w0.1.1"].content_carried_ids == ("t-w0.0.1",)
    assert log["t-w0.0.1"].content_carried_ids == ()


async def test_redact_drops_the_carried_markers(upstream) -> None:
    generator = WorkflowGenerator(_load(_workflow(transform="redact")), upstream.url, run_id="t")
    await asyncio.wait_for(generator.run(), 15)
    assert all(e.content_carried_ids == () for e in upstream.request_log)


async def test_retries_then_fallback_then_abandon(upstream) -> None:
    upstream.set_fault("error_500", rate=1.0)
    retry = {"attempts": 3, "backoff_ms": 1, "deadline_ms": 2000}
    wf = WorkflowSpec.model_validate({
        "name": "claims", "tenant": "acme", "rate_per_s": 8,
        "steps": [
            {"id": "draft", "route": "r", "text": "doc", "retry": retry,
             "fallback": {"text": "template"}},
            {"id": "file", "route": "r", "from": ["draft"], "retry": retry},
        ],
    })
    generator = WorkflowGenerator(_load(wf), upstream.url, run_id="t")
    await asyncio.wait_for(generator.run(), 15)
    run = generator.workflows()[0]
    assert run.outcome == "abandoned"
    assert [(s.step, s.outcome, s.attempts) for s in run.steps] == [
        ("draft", "fallback", 3), ("file", "failed", 3)]
    assert run.steps[0].errors == ("http_500",) * 3 and run.steps_retried == 2


def test_schedule_is_seeded_and_per_type() -> None:
    load = _load(_workflow(), duration_s=1.0, arrival="poisson")
    assert list(iter_workflow_schedule(load)) == list(iter_workflow_schedule(load))
    assert all(kind == 0 for _, kind in iter_workflow_schedule(load))
