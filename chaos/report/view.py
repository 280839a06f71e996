"""Everything the renderers show, gathered once from a report directory.

>>> view = load_view(run_dir)                         # doctest: +SKIP
>>> view.report.verdict, len(view.buckets)            # doctest: +SKIP
('passed', 60)
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from chaos.report.decisions import AUDIT_FILE, DecisionSummary, summarize_audit
from chaos.report.errors import ReportDirError
from chaos.report.model import REPORT_FILE, Metrics, PolicyViolations, Report
from chaos.report.series import (
    REQUESTS_FILE,
    SecondBucket,
    buckets_from_requests,
    buckets_from_timeseries,
)
from chaos.report.signing import SigningInfo, verify_command
from governance.errors import Location


class FaultSpan(BaseModel):
    """A fault's window in run seconds, for shading the chart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: str
    target: str
    start_s: float
    end_s: float


class TimelineMark(BaseModel):
    """One instant on the run's timeline: a harness event, a GPU health event, a stop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t_s: float
    kind: str  # "phase" | "fault" | "harness" | "gpu" | "stop"
    label: str
    detail: str = ""


class ModelTraffic(BaseModel):
    """Per-second requests received by each model (ground truth when from the upstream log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # "upstream-requests.jsonl" or "requests.jsonl (served by)"
    models: tuple[str, ...]
    seconds: tuple[tuple[int, tuple[int, ...]], ...]  # (second, count per model in order)


class ReportView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: str
    report: Report
    buckets: tuple[SecondBucket, ...]
    buckets_source: str  # "requests.jsonl" or "report.json metrics"
    fault_spans: tuple[FaultSpan, ...]
    decisions: DecisionSummary | None
    signing: SigningInfo | None
    verify_command: str | None
    marks: tuple[TimelineMark, ...] = ()
    traffic: ModelTraffic | None = None


def read_report_file(run_dir: Path) -> Report:
    """Parse ``run_dir/report.json``. Raises :class:`ReportDirError` naming the field."""
    path = run_dir / REPORT_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportDirError(
            f"not a report directory: cannot read {REPORT_FILE} ({exc.strerror or exc})",
            location=Location(str(path)),
        ) from exc
    try:
        return Report.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise ReportDirError(f"invalid report: {first['msg']}", location=Location(str(path), field=field)) from exc


def fault_spans(report: Report) -> tuple[FaultSpan, ...]:
    """Windows of the faults that were applied (an unreverted fault lasts to the run's end)."""
    end_of_run = report.duration_s
    spans = []
    for fault in report.faults:
        if fault.applied_at_s is None:
            continue
        end = fault.reverted_at_s if fault.reverted_at_s is not None else end_of_run
        spans.append(FaultSpan(name=fault.name, kind=fault.kind, target=fault.target,
                               start_s=fault.applied_at_s, end_s=max(end, fault.applied_at_s)))
    return tuple(spans)


def _epoch(timestamp: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def timeline_marks(report: Report, decisions: DecisionSummary | None) -> tuple[TimelineMark, ...]:
    """Every instant worth drawing: harness events, GPU health events, the stop that tripped.

    GPU events come from the audit log (wall-clock ``ts``), placed in run seconds against
    ``started_at``.
    """
    marks = []
    for event in report.events:
        kind = "fault" if event.kind == "fault" else ("harness" if event.name == "ready" else "phase")
        marks.append(TimelineMark(t_s=event.t_s, kind=kind, label=event.name, detail=event.detail))
    t0 = _epoch(report.started_at)
    for gpu in (decisions.gpu_timeline if decisions else ()):
        at = _epoch(gpu.ts) if gpu.ts else None
        if at is None or t0 is None:
            continue
        xid = f" (Xid {gpu.xid})" if gpu.xid is not None else ""
        initial = gpu.previous is None  # the monitor's first reading, not a transition
        marks.append(TimelineMark(t_s=round(at - t0, 3), kind="harness" if initial else "gpu",
                                  label=f"GPU {gpu.device} {gpu.state}{xid}" + (" (first reading)" if initial else ""),
                                  detail=gpu.reason or ""))
    if report.stopped_early is not None:
        s = report.stopped_early
        marks.append(TimelineMark(t_s=s.at_s, kind="stop", label=f"stop: {s.condition}",
                                  detail=f"observed {s.observed}"))
    return tuple(sorted(marks, key=lambda m: m.t_s))


def model_traffic(root: Path, report: Report) -> ModelTraffic | None:
    """Requests per second per model, from what the upstreams received (client traffic only:
    entries naming a request; health probes left out). Falls back to the responses' served-by
    model from ``requests.jsonl``. Unreadable lines are skipped (display only)."""
    t0 = _epoch(report.started_at)
    counts: dict[tuple[int, str], int] = {}
    source = ""
    upstream = root / "upstream-requests.jsonl"
    if upstream.is_file() and t0 is not None:
        source = "upstream-requests.jsonl"
        for row in _rows(upstream):
            if not (row.get("content_request_ids") or row.get("request_id") or row.get("user")):
                continue  # a content-free health probe
            at, model = row.get("received_at"), row.get("served_model")
            if isinstance(at, int | float) and isinstance(model, str):
                key = (int(max(at - t0, 0.0)), model)
                counts[key] = counts.get(key, 0) + 1
    elif (root / REQUESTS_FILE).is_file():
        source = "requests.jsonl (served by)"
        for row in _rows(root / REQUESTS_FILE):
            at, model = row.get("sent_at_s"), row.get("served_by")
            if isinstance(at, int | float) and isinstance(model, str):
                key = (int(max(at, 0.0)), model)
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    order = [u.model for u in report.upstreams]
    models = order + sorted({m for _, m in counts} - set(order))
    models = [m for m in models if any(k[1] == m for k in counts)]
    seconds = sorted({t for t, _ in counts})
    return ModelTraffic(source=source, models=tuple(models), seconds=tuple(
        (t, tuple(counts.get((t, m), 0) for m in models)) for t in seconds))


def _rows(path: Path) -> list[dict]:
    import orjson

    out = []
    try:
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    out.append(row)
    except OSError:
        return []
    return out


def probes_summary(violations: PolicyViolations | None) -> str | None:
    """One sentence on the gateway health probes the upstreams received, or None when none.

    Probes carried no client data, so no policy decision applies: they are counted apart
    (``policy_violations.probes``), never as violations.

    >>> probes_summary(PolicyViolations(checked=9, count=0, probes=3,
    ...                                 probes_by_upstream={"cloud-eu": 2, "cloud-us": 1},
    ...                                 probes_labelled=3))
    '3 health probes carried no client data (counted apart, not violations): cloud-eu 2, cloud-us 1; 3 of 3 labelled X-Govchaos-Probe'
    """
    if violations is None or not violations.probes:
        return None
    n = violations.probes
    noun = "health probe" if n == 1 else "health probes"
    per = ", ".join(f"{name} {count}" for name, count in sorted(violations.probes_by_upstream.items()))
    return (f"{n} {noun} carried no client data (counted apart, not violations)"
            + (f": {per}" if per else "")
            + f"; {violations.probes_labelled} of {n} labelled X-Govchaos-Probe")


FAILOVER_DEFINITION = (
    "a failover is a request that succeeded after a failed attempt on another upstream "
    "(upstream logs, or the gateway's report of an attempt that never reached one)")


def failovers_summary(metrics: Metrics | None) -> str | None:
    """One sentence on failovers (the one definition, :mod:`chaos.runner.metrics`) and on how
    served-by was established, or None without metrics.

    >>> failovers_summary(Metrics(requests=9, ok=9, errors=0, success_rate=1.0,
    ...     latency_p50_ms=1, latency_p95_ms=1, latency_p99_ms=1, throughput_rps=1,
    ...     failovers=2, failovers_by_reason={"connect_error": 2}))[:60]
    '2 failovers (connect_error 2); a failover is a request that '
    """
    if metrics is None:
        return None
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(metrics.failovers_by_reason.items()))
    text = (f"{metrics.failovers} failover{'' if metrics.failovers == 1 else 's'}"
            + (f" ({reasons})" if reasons else "") + f"; {FAILOVER_DEFINITION}")
    a = metrics.attribution
    if a is not None and (a.mismatches or a.unattributed):
        text += (f". Served-by from the upstream logs: {a.mismatches} of {a.header_checked} "
                 f"gateway served-by headers disagree; {a.unattributed} of {a.successes} "
                 "successes no upstream log shows answering")
    return text


def unit_of(metric: str) -> str:
    """The unit a metric's values are in, for display (``""`` for counts and ratios)."""
    if metric.endswith("_ms"):
        return " ms"
    if metric.endswith("_s"):
        return " s"
    if metric.endswith("_rps"):
        return " req/s"
    return ""


def display_time(timestamp: str) -> str:
    """``2025-01-01T12:00:00.123456Z`` → ``2025-01-01 12:00:00 UTC`` (report.json keeps the rest)."""
    text = re.sub(r"\.\d+(?=Z$|[+-]\d\d:\d\d$)", "", timestamp)
    return text.replace("T", " ", 1).removesuffix("Z") + (" UTC" if text.endswith("Z") else "")


def signer_kind(signing: SigningInfo) -> str:
    """``organisation key`` / ``keyless identity`` / ``ephemeral key``: who can have signed."""
    return {"key": "organisation key", "keyless": "keyless identity"}.get(signing.mode, "ephemeral key")


def signer_text(signing: SigningInfo) -> str:
    """One line on who signed, e.g. ``ephemeral key 3a08…: integrity, not origin``."""
    if signing.mode == "keyless":
        return f"keyless identity {signing.identity} (issuer {signing.issuer})"
    text = f"{signer_kind(signing)} {signing.key_id}"
    return text + (" (integrity, not origin)" if signing.ephemeral else "")


def tally(r: Report) -> str:
    """``9 of 10 checks passed · 1 not run · 0 policy violations``: the verdict's evidence at a
    glance (stop conditions count as checks: passed = never tripped)."""
    checks = r.checks()
    text = f"{sum(c.passed for c in checks)} of {len(checks)} checks passed"
    skipped = sum(1 for c in checks if c.skipped)
    if skipped:
        text += f" · {skipped} not run"
    if r.policy_violations is not None:
        n = r.policy_violations.count
        text += f" · {n} policy violation{'' if n == 1 else 's'}"
    return text


def load_view(
    run_dir: str | Path, signing: SigningInfo | None = None, *, display_dir: str | None = None
) -> ReportView:
    """Gather a report directory for rendering.

    ``signing`` is how the directory is being signed (rendered into the "how to verify" part).
    Raises :class:`ReportDirError` for a missing or invalid ``report.json`` or ``requests.jsonl``.
    """
    root = Path(run_dir)
    report = read_report_file(root)
    requests = root / REQUESTS_FILE
    if requests.is_file():
        buckets = buckets_from_requests(requests)
        source = REQUESTS_FILE
    else:
        buckets = buckets_from_timeseries(report.metrics.timeseries if report.metrics else ())
        source = "report.json metrics"
    audit_name = report.audit.file or AUDIT_FILE
    shown = display_dir or str(root)
    decisions = summarize_audit(root / audit_name)
    return ReportView(
        directory=shown,
        report=report,
        buckets=buckets,
        buckets_source=source,
        fault_spans=fault_spans(report),
        decisions=decisions,
        signing=signing,
        verify_command=verify_command(shown, signing) if signing else None,
        marks=timeline_marks(report, decisions),
        traffic=model_traffic(root, report),
    )
