"""Synthetic report directories, for tests and ``bench/report.py`` (no chaos run needed).

>>> import tempfile
>>> d = synthesize_run_dir(tempfile.mkdtemp(), duration_s=3, rps=10)
>>> sorted(p.name for p in d.iterdir())
['audit.jsonl', 'gateway-config.yaml', 'report.json', 'requests.jsonl', 'scenario.yaml', 'upstream-requests.jsonl']

The directory looks like what the runner writes: ``report.json`` built from the runner's own
models (metrics computed by :func:`chaos.runner.analysis.run_metrics`), ``requests.jsonl`` (one
:class:`~chaos.report.records.RequestRecord` per line) and a real hash-chained ``audit.jsonl``
written by :class:`governance.audit.AuditLog` (a decision and an attempt per request, a second
attempt when a request failed over). A fault takes the private upstream down for the middle
third of the run (with a GPU-lost audit event at its start), a stop condition watches the error
rate, and the upstreams' request log (``upstream-requests.jsonl``) records what each model
received. Everything is drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
import uuid
from pathlib import Path

import orjson

from chaos.report.model import (
    AuditInfo,
    DataClassMatrix,
    EnvironmentInfo,
    FaultEffect,
    FaultReport,
    GatewayInfo,
    HarnessEvent,
    MatrixCell,
    PhaseInfo,
    PolicyInfo,
    PolicyViolations,
    Report,
    ScenarioInfo,
    SteadyStateResults,
    UpstreamInfo,
    write_report,
)
from chaos.report.records import CheckResult, RequestRecord
from chaos.runner.analysis import run_metrics, timeseries

PRIMARY = ("private-eu", "llama-3.1-70b-private-eu")
FALLBACK = ("private-eu-small", "llama-3.1-8b-private-eu")
CLOUD = ("cloud-eu", "gpt-4o-cloud-eu")
STARTED_AT = "2025-01-01T12:00:00Z"
ROUTES = (("claims-triage", "acme-health", ("pii",)), ("customer-chat", "globex-retail", ("internal",)),
          ("analytics-summary", "initech-dev", ("public",)))


def synthetic_records(duration_s: float, rps: float, rng: random.Random) -> list[RequestRecord]:
    """Open-loop requests at ``rps``; during the fault (middle third) they fail over."""
    fault = (duration_s / 3, 2 * duration_s / 3)
    records = []
    for i in range(int(duration_s * rps)):
        sent = i / rps + rng.uniform(0, 0.5 / rps)
        route, tenant, classes = ROUTES[i % len(ROUTES)]
        in_fault = fault[0] <= sent < fault[1]
        latency = rng.lognormvariate(3.0, 0.3) + (25.0 if in_fault else 0.0)
        failed = rng.random() < (0.02 if in_fault else 0.002)
        upstream, model = FALLBACK if in_fault else PRIMARY
        records.append(RequestRecord(
            request_id=f"req-{i:07d}", sent_at_s=round(sent, 6),
            ended_at_s=round(sent + latency / 1000, 6), route=route, tenant=tenant,
            data_classes=classes, status=503 if failed else 200, latency_ms=round(latency, 3),
            served_by=None if failed else model, upstream=None if failed else upstream,
            attempts=2 if in_fault else 1,
            failovers=(f"{PRIMARY[0]}:connect_error",) if in_fault else (),
            retry_after=True if failed else None,
        ))
    return records


def _epoch(t_s: float) -> float:
    return dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC).timestamp() + t_s


async def write_synthetic_audit(path: Path, records: list[RequestRecord],
                                gpu_lost_at_s: float | None = None) -> tuple[str, int]:
    """A decision and its attempts per request, through the real audit log; (head hash, count)."""
    from governance.audit import AuditLog

    clock = {"t": _epoch(0.0)}
    log = await AuditLog.open(path, group_commit_ms=2.0, clock=lambda: clock["t"])
    gpu_pending = gpu_lost_at_s is not None
    try:
        for n, r in enumerate(records):
            clock["t"] = _epoch(r.sent_at_s)
            if gpu_pending and gpu_lost_at_s is not None and r.sent_at_s >= gpu_lost_at_s:
                gpu_pending = False
                log.append_nowait({"kind": "gpu", "device": 0, "state": "lost", "previous": "healthy",
                                   "xid": 79, "reason": "GPU has fallen off the bus", "source": "injectable",
                                   "upstreams": [PRIMARY[0]]})
            decision_id = f"dec-{n:07d}"
            log.append_nowait({
                "kind": "decision", "decision_id": decision_id, "request_id": r.request_id,
                "path": "govchaos/gateway/decision", "timestamp": "2025-01-01T00:00:00Z",
                "labels": {"service": "govchaos-gateway"},
                "input": {"route": r.route, "tenant": r.tenant, "data_classes": list(r.data_classes)},
                "result": {"allow": True, "allowed": [PRIMARY[1], FALLBACK[1]], "denied": {},
                           "reasons": [], "obligations": {}},
                "decision_latency_ms": 0.012,
            })
            attempts = [(PRIMARY, "connect_error", "connect_error")] if r.failovers else []
            attempts.append((FALLBACK if r.failovers else PRIMARY, "ok" if r.ok else "http_503", None))
            for k, ((upstream, model), outcome, reason) in enumerate(attempts, 1):
                log.append_nowait({
                    "kind": "attempt", "request_id": r.request_id, "decision_id": decision_id,
                    "upstream": upstream, "model": model, "attempt": k, "outcome": outcome,
                    "status": None if reason else r.status, "latency_ms": r.latency_ms,
                    "failover_reason": reason,
                })
            if n % 2048 == 2047:
                await log.flush()
        await log.flush()
        head = log.head
    finally:
        await log.close()
    return head.hash, head.seq + 1


def synthesize_run_dir(
    directory: str | Path,
    *,
    duration_s: float = 10.0,
    rps: float = 20.0,
    seed: int = 7,
    scenario_name: str = "provider-outage",
    verdict: str = "passed",
    audit: bool = True,
    probes_by_upstream: dict[str, int] | None = None,
) -> Path:
    """Write a fake run directory (see the module docstring) and return its path."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    records = synthetic_records(duration_s, rps, rng)
    with open(root / "requests.jsonl", "wb") as out:
        out.write(b"".join(orjson.dumps(r.model_dump(mode="json")) + b"\n" for r in records))
    fault_start, fault_end = duration_s / 3, 2 * duration_s / 3
    with open(root / "upstream-requests.jsonl", "wb") as out:
        for r in records:
            hops = ([PRIMARY, FALLBACK] if r.failovers else [PRIMARY]) if r.ok or r.failovers else [PRIMARY]
            for upstream, model in hops:
                out.write(orjson.dumps({
                    "received_at": _epoch(r.sent_at_s + 0.001), "received_mono": r.sent_at_s,
                    "upstream": upstream, "served_model": model, "request_id": r.request_id,
                    "content_request_ids": [r.request_id], "path": "/v1/chat/completions",
                    "outcome": "ok"}) + b"\n")
    scenario_text = (f"name: {scenario_name}\ndescription: synthetic\nproves: failover never breaks policy\n"
                     "# a synthetic scenario written by chaos.runner.synthetic\n")
    (root / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
    config_text = "listen: 127.0.0.1:0\npolicy: {bundle: policies}\n"
    (root / "gateway-config.yaml").write_text(config_text, encoding="utf-8")
    if audit:
        head, count = asyncio.run(write_synthetic_audit(root / "audit.jsonl", records,
                                                        gpu_lost_at_s=fault_start))
        audit_info = AuditInfo(file="audit.jsonl", head=head, records=count, verified=True)
    else:
        audit_info = AuditInfo(file=None, error="no audit log (external gateway)")
    received = {PRIMARY[1]: sum(1 for r in records if not r.failovers),
                FALLBACK[1]: sum(1 for r in records if r.failovers)}
    metrics = run_metrics(records, received)
    assert metrics.timeseries == timeseries(records)
    classes = sorted({c for _, _, cs in ROUTES for c in cs})
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        for _, model in ([PRIMARY, FALLBACK] if r.failovers else [PRIMARY]):
            for c in r.data_classes:
                counts[(model, c)] = counts.get((model, c), 0) + 1
    matrix = DataClassMatrix(
        models=(PRIMARY[1], FALLBACK[1], CLOUD[1]), data_classes=tuple(classes),
        cells=tuple(MatrixCell(model=m, data_class=c, received=counts.get((m, c), 0),
                               policy="forbidden" if (m == CLOUD[1] and c == "pii") else "allowed")
                    for m in (PRIMARY[1], FALLBACK[1], CLOUD[1]) for c in classes))
    during = [r for r in records if fault_start <= r.sent_at_s < fault_end]
    ok = sum(1 for r in during if r.ok)
    checks = (
        CheckResult(name="success_rate >= 0.95", metric="success_rate", op=">=", expected=0.95,
                    observed=metrics.success_rate, passed=verdict != "failed", requests=len(records)),
        CheckResult(name=f"success_rate >= 0.99 during {scenario_name}-fault", metric="success_rate",
                    op=">=", expected=0.99, observed=ok / len(during) if during else None,
                    passed=verdict != "failed", requests=len(during), during=f"{scenario_name}-fault"),
        CheckResult(name="policy_violations == 0", metric="policy_violations", op="==", expected=0,
                    observed=0, passed=True, requests=len(records)),
    )
    probe = CheckResult(name="latency_p99_ms <= 500", metric="latency_p99_ms", op="<=", expected=500,
                        observed=metrics.latency_p99_ms, passed=True, requests=len(records) // 4)
    before = probe.model_copy(update={"phase": "steady_before"})
    after = probe.model_copy(update={"phase": "steady_after"})
    stop = CheckResult(name="stop if error_rate > 0.5 over 2 s", metric="error_rate", op=">",
                       expected=0.5, observed=0.05, passed=True, requests=max(1, int(duration_s * 4)),
                       detail="never tripped (closest value observed)")
    report = Report(
        run_id=str(uuid.UUID(int=rng.getrandbits(128))),
        scenario=ScenarioInfo(name=scenario_name, sha256=hashlib.sha256(scenario_text.encode()).hexdigest(),
                              path=f"scenarios/{scenario_name}.yaml", file="scenario.yaml",
                              description="synthetic", proves="failover never breaks policy"),
        policy=PolicyInfo(bundle="policies", sha256="b" * 64, files=("gateway.rego", "data/catalog.yaml")),
        gateway=GatewayInfo(kind="reference", version="0.1.0",
                            config_sha256=hashlib.sha256(config_text.encode()).hexdigest(),
                            base_url="http://127.0.0.1:1"),
        seed=seed,
        environment=EnvironmentInfo(govchaos_version="0.1.0", python_version="3.12", platform="Linux",
                                    host="synthetic", cpu_count=2),
        started_at=STARTED_AT, ended_at="2025-01-01T12:01:00Z", duration_s=duration_s,
        phases=(PhaseInfo(name="steady_before", start_s=0, end_s=fault_start),
                PhaseInfo(name="faults", start_s=fault_start, end_s=fault_end),
                PhaseInfo(name="steady_after", start_s=fault_end, end_s=duration_s)),
        faults=(FaultReport(
            name=f"{scenario_name}-fault", kind="kill", target=PRIMARY[0], params={},
            planned_at_s=0, planned_duration_s=fault_end - fault_start, applied_at_s=fault_start,
            reverted_at_s=fault_end, status="reverted",
            effect=FaultEffect(verified=True,
                               expected="the target receives no request from 0.5 s after the "
                               "fault is applied until its revert",
                               observed="0 requests received in the window",
                               window_s=fault_end - fault_start, requests_before=len(during),
                               success_rate_before=1.0, target_share_before=1.0,
                               requests_during=len(during), errors_during=len(during) - ok,
                               success_rate_during=ok / len(during) if during else None,
                               target_share_during=0.0, failovers_during=len(during),
                               failover_reasons={"connect_error": len(during)},
                               summary=f"{PRIMARY[0]} received nothing; traffic failed over"),
        ),),
        metrics=metrics,
        steady_state=SteadyStateResults(before=(before,), after=(after,)),
        assertions=checks,
        stop_conditions=(stop,),
        upstreams=(UpstreamInfo(name=PRIMARY[0], model=PRIMARY[1], provider="govchaos-private",
                                hosting="private", region="eu-central-1", jurisdiction="eu",
                                gpu_device=0, source="catalog"),
                   UpstreamInfo(name=FALLBACK[0], model=FALLBACK[1], provider="govchaos-private",
                                hosting="private", region="eu-central-1", jurisdiction="eu",
                                gpu_device=1, source="catalog"),
                   UpstreamInfo(name=CLOUD[0], model=CLOUD[1], provider="openai", hosting="cloud",
                                region="eu-west-1", jurisdiction="eu", source="catalog")),
        data_class_matrix=matrix,
        events=(HarnessEvent(t_s=0.0, kind="phase", name="steady_before"),
                HarnessEvent(t_s=fault_start, kind="phase", name="faults"),
                HarnessEvent(t_s=fault_start, kind="fault", name=f"applied {scenario_name}-fault",
                             detail=f"kill on {PRIMARY[0]}"),
                HarnessEvent(t_s=fault_end, kind="fault", name=f"reverted {scenario_name}-fault",
                             detail=f"kill on {PRIMARY[0]}"),
                HarnessEvent(t_s=fault_end, kind="phase", name="steady_after")),
        policy_violations=PolicyViolations(
            checked=len(records) + sum((probes_by_upstream or {}).values()), count=0,
            probes=sum((probes_by_upstream or {}).values()), probes_by_upstream=probes_by_upstream or {},
            probes_labelled=sum((probes_by_upstream or {}).values())),
        verdict=verdict,  # type: ignore[arg-type]
        verdict_reasons=() if verdict == "passed" else (f"assertion failed: {checks[0].name}",),
        audit=audit_info,
        files=tuple(sorted(["report.json", "requests.jsonl", "upstream-requests.jsonl", "scenario.yaml",
                            "gateway-config.yaml"] + (["audit.jsonl"] if audit else []))),
    )
    write_report(root, report)
    return root
