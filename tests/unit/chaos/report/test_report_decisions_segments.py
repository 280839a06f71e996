"""The report's decisions summary reads compacted segments exactly as it reads one plain file:
references to candidate lists and decision results are resolved before anything is counted."""

from __future__ import annotations

from pathlib import Path

from chaos.report.decisions import summarize_audit
from governance.audit import AuditLog, SegmentPolicy

ALLOW = {"allow": True, "allowed": ["llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"],
         "denied": {"gpt-4o-cloud-eu": ["data_class_ceiling: pii may not reach cloud hosting"]},
         "reasons": [], "obligations": {"max_tokens": 2048, "log_prompts": False, "redact": []}}
DENY = {"allow": False, "allowed": [], "denied": {}, "reasons": ["tenant_unknown: who?"],
        "obligations": {"max_tokens": None, "log_prompts": False, "redact": []}}
CANDIDATES = [{"id": m, "provider": "p", "hosting": h, "region": "eu-central-1", "version": "1",
               "cost_per_1k_tokens": 0.003, "tags": [], "healthy": True}
              for m, h in (("llama-3.1-70b-private-eu", "private"),
                           ("llama-3.1-8b-private-eu", "private"), ("gpt-4o-cloud-eu", "cloud"))]


def _events(n: int) -> list[dict]:
    out = []
    for i in range(n):
        route = ("claims-triage", "customer-chat")[i % 2]
        out.append({"kind": "decision", "decision_id": f"d{i}", "request_id": f"r{i}",
                    "input": {"route": route, "tenant": "acme-health", "candidates": CANDIDATES},
                    "result": DENY if i % 7 == 0 else ALLOW,
                    "policy": {"engine": "regorus", "bundle_digest": "sha256:ab"},
                    "decision_latency_ms": 0.1 + i % 3})
        out.append({"kind": "attempt", "request_id": f"r{i}", "decision_id": f"d{i}",
                    "model": "llama-3.1-70b-private-eu", "outcome": "ok", "status": 200,
                    "failover_reason": "http_503" if i % 11 == 0 else None})
    return out


async def _write(target: Path, segments: SegmentPolicy | None, compact: tuple[str, ...]) -> None:
    log = await AuditLog.open(target, segments=segments, compact=compact, group_commit_ms=0)
    for event in _events(120):
        log.append_nowait(event)
    await log.close()


async def test_compacted_segments_summarize_like_the_plain_file(tmp_path: Path) -> None:
    await _write(tmp_path / "audit.jsonl", None, ())
    await _write(tmp_path / "audit", SegmentPolicy(max_segment_bytes=4000, max_segment_age_s=None),
                 ("input.candidates", "result", "policy"))
    assert len(list((tmp_path / "audit").glob("audit-*.jsonl.gz"))) >= 3
    plain, compact = summarize_audit(tmp_path / "audit.jsonl"), summarize_audit(tmp_path / "audit")
    assert plain is not None and compact is not None
    assert compact.unreadable == 0
    assert compact.decisions == plain.decisions == 120
    assert (compact.allowed, compact.denied) == (plain.allowed, plain.denied) == (102, 18)
    assert compact.by_route == plain.by_route
    assert compact.models_allowed == plain.models_allowed
    assert compact.deny_reasons == plain.deny_reasons == {"tenant_unknown: who?": 18}
    assert compact.failover_reasons == plain.failover_reasons
    # the blob and segment records are the log's own: not counted as events
    assert compact.records == plain.records == 240


def test_shadow_decisions_and_outcomes_are_counted_apart_from_primary_decisions() -> None:
    from chaos.report.decisions import summarize_events

    events = [
        {"kind": "decision", "result": ALLOW, "input": {"route": "customer-chat"}},
        {"kind": "shadow_decision", "result": ALLOW, "input": {"route": "customer-chat"}},
        {"kind": "shadow_decision", "result": DENY, "input": {"route": "customer-chat"}},
        {"kind": "shadow", "outcome": "ok"},
        {"kind": "shadow", "outcome": "denied"},
    ]
    summary = summarize_events(events)
    assert (summary.decisions, summary.allowed, summary.denied) == (1, 1, 0)
    assert (summary.shadow_decisions, summary.shadow_denied) == (2, 1)
    assert summary.shadows_by_outcome == {"ok": 1, "denied": 1}
