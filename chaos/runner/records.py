"""The load -> runner boundary: a :class:`chaos.load.LoadRecord` (epoch times, as the load
generator saw the exchange) becomes the run's :class:`chaos.report.records.RequestRecord`, whose
times are seconds since the run started: what phases, fault windows and every metric use.

>>> from chaos.load import LoadRecord
>>> raw = LoadRecord(request_id="r1", index=0, route="x", tenant="t", data_classes=("pii",),
...                  region=None, stream=False, offset_s=0.0, scheduled_at=100.0, sent_at=100.5,
...                  arrival_error_ms=500.0, status=200, ok=True, error_kind=None,
...                  latency_ms=None, completed_at=100.75)
>>> r = from_load_record(raw, wall0=100.0)
>>> r.sent_at_s, r.ended_at_s, r.latency_ms, r.error
(0.5, 0.75, 250.0, None)
"""

from __future__ import annotations

from chaos.load.models import LoadRecord
from chaos.report.records import RequestRecord


def from_load_record(raw: LoadRecord, *, wall0: float) -> RequestRecord:
    """``raw`` with times relative to ``wall0`` (the run's start, epoch seconds).

    A request never sent (``client_overload``) counts from its scheduled time; a missing latency
    is the time from send to completion.
    """
    sent = raw.sent_at if raw.sent_at is not None else raw.scheduled_at
    latency = raw.latency_ms if raw.latency_ms is not None else (raw.completed_at - sent) * 1000.0
    return RequestRecord(
        request_id=raw.request_id,
        sent_at_s=round(sent - wall0, 6),
        ended_at_s=round(raw.completed_at - wall0, 6),
        route=raw.route,
        tenant=raw.tenant,
        data_classes=tuple(raw.data_classes),
        region=raw.region,
        stream=raw.stream,
        status=raw.status,
        latency_ms=round(max(0.0, latency), 3),
        served_by=raw.served_by,
        upstream=raw.upstream,
        attempts=raw.attempts or 0,
        failovers=tuple(raw.failovers),
        retry_after=raw.retry_after_s is not None,
        retry_after_s=raw.retry_after_s,
        error=raw.error_kind if not raw.ok else None,
        error_code=raw.error_code,
        workflow_id=raw.workflow_id, workflow=raw.workflow, step=raw.step, attempt=raw.attempt,
    )
