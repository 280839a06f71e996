"""Policy decisions and upstream attempts, summarized from the run's audit log (``audit.jsonl``
or the segment directory ``audit/``), read through :func:`governance.audit.EventReader` so
compacted parts (candidate lists, results) are resolved.

This reads the audit chain for display only; whether the chain is intact is
:mod:`chaos.report.verify`'s job. A line that does not parse is counted as ``unreadable`` instead
of stopping the rendering: the report must still show what it can.

>>> summary = summarize_events([
...     {"kind": "decision", "input": {"route": "r"}, "result": {"allow": True, "allowed": ["m"]}},
...     {"kind": "decision", "input": {"route": "r"}, "result": {"allow": False, "reasons": ["pii"]}},
...     {"kind": "attempt", "model": "m", "outcome": "ok"}])
>>> summary.decisions, summary.allowed, summary.denied, summary.deny_reasons
(2, 1, 1, {'pii': 1})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

AUDIT_FILE = "audit.jsonl"
_TOP = 12  # reasons shown; the rest are summed as "(other)"


class RouteDecisions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decisions: int = 0
    allowed: int = 0
    denied: int = 0


class GpuEvent(BaseModel):
    """A GPU health transition the gateway audited (``kind: gpu``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: str | None = None
    device: str = "?"
    state: str = "?"
    previous: str | None = None
    xid: int | None = None
    reason: str | None = None


class DecisionSummary(BaseModel):
    """Counts over the audit events of one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: int = 0
    unreadable: int = 0
    decisions: int = 0
    allowed: int = 0
    denied: int = 0
    deny_reasons: dict[str, int] = {}
    by_route: dict[str, RouteDecisions] = {}
    models_allowed: dict[str, int] = {}  # how often each model was in ``allowed``
    attempts: int = 0
    attempts_by_outcome: dict[str, int] = {}
    attempts_by_model: dict[str, int] = {}
    failover_reasons: dict[str, int] = {}
    gpu_events: int = 0
    gpu_timeline: tuple[GpuEvent, ...] = ()
    decision_latency_p50_ms: float | None = None
    # shadow traffic (routes.<r>.shadow): the shadow targets' own decisions, and what became
    # of each shadow (ok / a failover reason / denied, never sent / dropped / unavailable)
    shadow_decisions: int = 0
    shadow_denied: int = 0
    shadows_by_outcome: dict[str, int] = {}


def _top(counter: Counter[str]) -> dict[str, int]:
    items = counter.most_common()
    if len(items) <= _TOP:
        return dict(items)
    shown = dict(items[: _TOP - 1])
    shown["(other)"] = sum(n for _, n in items[_TOP - 1 :])
    return shown


def summarize_events(events: Iterable[Mapping[str, Any]], *, unreadable: int = 0) -> DecisionSummary:
    """Summarize audit events (dicts as written by the gateway)."""
    records = decisions = allowed = denied = attempts = gpu = shadow_decisions = shadow_denied = 0
    shadows: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    models_allowed: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    by_model: Counter[str] = Counter()
    failovers: Counter[str] = Counter()
    routes: dict[str, list[int]] = {}
    latencies: list[float] = []
    gpu_timeline: list[GpuEvent] = []
    for event in events:
        records += 1
        kind = event.get("kind")
        if kind == "decision":
            decisions += 1
            result = event.get("result") or {}
            inp = event.get("input") or {}
            route = str(inp.get("route") or "(none)") if isinstance(inp, dict) else "(none)"
            slot = routes.setdefault(route, [0, 0, 0])
            slot[0] += 1
            if isinstance(result, dict) and result.get("allow") is True:
                allowed += 1
                slot[1] += 1
                for model in result.get("allowed") or ():
                    models_allowed[str(model)] += 1
            else:
                denied += 1
                slot[2] += 1
                found = result.get("reasons") if isinstance(result, dict) else None
                for reason in found or ("(no reason given)",):
                    reasons[str(reason)] += 1
            latency = event.get("decision_latency_ms")
            if isinstance(latency, int | float):
                latencies.append(float(latency))
        elif kind == "shadow_decision":
            shadow_decisions += 1
            result = event.get("result") or {}
            if not (isinstance(result, dict) and result.get("allow") is True):
                shadow_denied += 1
        elif kind == "shadow":
            shadows[str(event.get("outcome") or "(none)")] += 1
        elif kind == "attempt":
            attempts += 1
            outcomes[str(event.get("outcome") or "(none)")] += 1
            by_model[str(event.get("model") or "(none)")] += 1
            if event.get("failover_reason"):
                failovers[str(event["failover_reason"])] += 1
        elif kind == "gpu":
            gpu += 1
            xid = event.get("xid")
            gpu_timeline.append(GpuEvent(
                ts=str(event["ts"]) if event.get("ts") is not None else None,
                device=str(event.get("device", "?")), state=str(event.get("state", "?")),
                previous=str(event["previous"]) if event.get("previous") is not None else None,
                xid=xid if isinstance(xid, int) and not isinstance(xid, bool) else None,
                reason=str(event["reason"]) if event.get("reason") is not None else None))
    latencies.sort()
    return DecisionSummary(
        records=records,
        unreadable=unreadable,
        decisions=decisions,
        allowed=allowed,
        denied=denied,
        deny_reasons=_top(reasons),
        by_route={k: RouteDecisions(decisions=v[0], allowed=v[1], denied=v[2])
                  for k, v in sorted(routes.items())},
        models_allowed=dict(models_allowed.most_common()),
        attempts=attempts,
        attempts_by_outcome=dict(outcomes.most_common()),
        attempts_by_model=dict(by_model.most_common()),
        failover_reasons=_top(failovers),
        gpu_events=gpu,
        gpu_timeline=tuple(gpu_timeline[:200]),
        decision_latency_p50_ms=round(latencies[len(latencies) // 2], 4) if latencies else None,
        shadow_decisions=shadow_decisions,
        shadow_denied=shadow_denied,
        shadows_by_outcome=dict(shadows.most_common()),
    )


def summarize_audit(path: Path) -> DecisionSummary | None:
    """Summarize ``path`` (a log file or a segment directory); None when it does not exist or
    cannot be read."""
    from governance.audit import EventReader

    if not path.exists():
        return None
    reader = EventReader(path)
    try:
        events = list(reader)
    except OSError:
        return None
    return summarize_events(events, unreadable=reader.unreadable)
