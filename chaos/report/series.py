"""Per-second buckets of the run's requests, for the latency-and-success chart.

Read from ``requests.jsonl`` (one :class:`~chaos.report.records.RequestRecord` per line, times in
seconds since the run started) when the directory has it; otherwise from the coarser
``metrics.timeseries`` of ``report.json``. Buckets are by send time, like the runner's metrics.

>>> rows = [{"sent_at_s": 0.2, "status": 200, "latency_ms": 10.0},
...         {"sent_at_s": 0.7, "status": 503, "latency_ms": 30.0, "error": None}]
>>> [(b.t_s, b.sent, b.ok, b.latency_p50_ms) for b in buckets_from_rows(rows)]
[(0, 2, 1, 20.0)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from chaos.report.errors import ReportDirError
from chaos.report.model import TimePoint
from governance.errors import Location

REQUESTS_FILE = "requests.jsonl"


class SecondBucket(BaseModel):
    """One second of traffic: counts, success rate and latency percentiles (all requests)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t_s: int
    sent: int
    ok: int
    errors: int
    success_rate: float | None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    # Same definition as chaos.runner.metrics.percentile (linear interpolation), on sorted input.
    if not ordered:
        return None
    rank = (q / 100.0) * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def buckets_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[SecondBucket, ...]:
    """Bucket request rows (dicts with ``sent_at_s``, ``status``, ``latency_ms``, ``error``)."""
    sent: dict[int, int] = {}
    ok: dict[int, int] = {}
    latencies: dict[int, list[float]] = {}
    for row in rows:
        second = int(row.get("sent_at_s") or 0.0)
        status = row.get("status") or 0
        sent[second] = sent.get(second, 0) + 1
        if 200 <= status < 300 and row.get("error") is None:
            ok[second] = ok.get(second, 0) + 1
        latencies.setdefault(second, []).append(float(row.get("latency_ms") or 0.0))
    out = []
    for second in sorted(sent):
        ordered = sorted(latencies[second])
        good = ok.get(second, 0)
        out.append(
            SecondBucket(
                t_s=second,
                sent=sent[second],
                ok=good,
                errors=sent[second] - good,
                success_rate=good / sent[second],
                latency_p50_ms=_round(_percentile(ordered, 50)),
                latency_p95_ms=_round(_percentile(ordered, 95)),
            )
        )
    return tuple(out)


def buckets_from_requests(path: Path) -> tuple[SecondBucket, ...]:
    """Bucket ``requests.jsonl``. Raises :class:`ReportDirError` naming the bad line."""
    rows = []
    try:
        with open(path, "rb") as handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise ReportDirError(
                        f"not a JSON request record: {exc}", location=Location(str(path), lineno)
                    ) from exc
                if not isinstance(row, dict):
                    raise ReportDirError(
                        "a request record must be a JSON object", location=Location(str(path), lineno)
                    )
                rows.append(row)
    except OSError as exc:
        raise ReportDirError(f"cannot read: {exc.strerror or exc}", location=Location(str(path))) from exc
    try:
        return buckets_from_rows(rows)
    except (TypeError, ValueError) as exc:
        raise ReportDirError(f"a request record has a field of the wrong type: {exc}",
                             location=Location(str(path))) from exc


def buckets_from_timeseries(points: Sequence[TimePoint]) -> tuple[SecondBucket, ...]:
    """Fallback when ``requests.jsonl`` is absent: the report's own per-second points."""
    return tuple(
        SecondBucket(
            t_s=p.t_s,
            sent=p.sent,
            ok=p.ok,
            errors=p.errors,
            success_rate=(p.ok / p.sent) if p.sent else None,
            latency_p95_ms=p.latency_p95_ms,
        )
        for p in points
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
