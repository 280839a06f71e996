"""Typed data of the load generator: what to send (spec, planned requests) and what happened
(per-request records, live stats, the result). All frozen pydantic models."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DataClassMix(BaseModel):
    """One set of data classes a request may declare, with its relative weight."""

    model_config = _FROZEN

    classes: tuple[str, ...] = Field(min_length=1)
    weight: float = Field(1.0, gt=0)


class RouteMix(BaseModel):
    """One entry of the traffic mix: a route, who calls it, what data it carries."""

    model_config = _FROZEN

    route: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)
    tenant: str = Field(min_length=1)
    api_key: SecretStr  # SecretStr: never shows up in reprs, logs or dumps
    data_classes: tuple[DataClassMix, ...] = (DataClassMix(classes=("public",)),)
    region: str | None = None
    # Body ``model`` (the gateway's requested_model); omitted when None.
    model: str | None = None
    # Share of this entry's requests sent with ``stream: true``; None uses the spec's share.
    stream_share: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    prompt: str = "Summarise the case in one sentence."

    @model_validator(mode="after")
    def _classes_present(self) -> RouteMix:
        if not self.data_classes:
            raise ValueError("data_classes must list at least one entry")
        return self


class LoadSpec(BaseModel):
    """Open-loop load: arrivals at ``rate_rps`` for ``duration_s``, drawn from the mix."""

    model_config = _FROZEN

    rate_rps: float = Field(gt=0, le=100_000)
    duration_s: float = Field(gt=0, le=24 * 3600)
    arrival: Literal["constant", "poisson"] = "constant"
    seed: int = 0
    mix: tuple[RouteMix, ...] = Field(min_length=1)
    stream_share: float = Field(0.0, ge=0, le=1)
    # Requests in flight beyond this are not sent; they are recorded as ``client_overload``.
    max_in_flight: int = Field(1024, ge=1, le=100_000)
    request_timeout_s: float = Field(30.0, gt=0, le=3600)
    path: str = "/v1/chat/completions"


class PlannedRequest(BaseModel):
    """One arrival of the schedule (deterministic for a given spec, seed and run id)."""

    model_config = _FROZEN

    index: int
    request_id: str
    offset_s: float  # scheduled send time, seconds after the run's start
    mix_index: int
    route: str
    tenant: str
    data_classes: tuple[str, ...]
    region: str | None
    stream: bool


ErrorKind = str
"""Why a request did not succeed: ``http_<status>``, ``connect_error`` (refused),
``connection_reset`` (reset/disconnected mid-request), ``timeout``, ``transport_error`` (any other
client error), ``invalid_response`` (200 whose body is not an OpenAI completion),
``stream_incomplete`` (stream ended without ``[DONE]``), ``stream_error`` (an error event),
``invalid_chunk`` (a stream chunk that is not JSON), ``client_overload`` (not sent: too many in
flight), ``cancelled`` (in flight when the run was stopped)."""


class LoadRecord(BaseModel):
    """What happened to one request, as the client saw it (epoch times). The runner turns it
    into the run's :class:`chaos.report.records.RequestRecord` (run-relative times)."""

    model_config = _FROZEN

    request_id: str
    index: int
    route: str
    tenant: str
    data_classes: tuple[str, ...]
    region: str | None
    stream: bool
    offset_s: float  # scheduled, relative to the run's start
    scheduled_at: float  # epoch seconds
    sent_at: float | None  # epoch seconds; None when never sent (client_overload)
    arrival_error_ms: float | None  # sent - scheduled
    status: int  # HTTP status; 0 when no response arrived (transport error, overload)
    ok: bool
    error_kind: ErrorKind | None
    latency_ms: float | None
    # Streams: time from send to the first ``data:`` event (time to first token); else None.
    first_event_ms: float | None = None
    completed_at: float  # epoch seconds
    served_by: str | None = None  # X-Govchaos-Served-By
    upstream: str | None = None  # X-Govchaos-Upstream
    attempts: int | None = None  # X-Govchaos-Attempts
    failovers: tuple[str, ...] = ()  # X-Govchaos-Failovers, "upstream:reason" each
    retry_after_s: float | None = None  # Retry-After (seconds form) of the response, if any
    error_code: str | None = None  # ``error.code`` of an error answer (e.g. budget_exceeded)
    # Agent workflows (chaos.load.workflows): which workflow run, type and step sent it, and
    # which try of that step it was; None for independent requests.
    workflow_id: str | None = None
    workflow: str | None = None
    step: str | None = None
    attempt: int | None = None


class LoadStats(BaseModel):
    """Live progress of a run."""

    model_config = _FROZEN

    elapsed_s: float
    scheduled: int  # arrivals whose time has come (sent + overload)
    sent: int
    completed: int  # sent and finished (answered, failed or cancelled)
    ok: int
    errors: int  # completed but not ok (cancelled included); overload is counted apart
    overload: int
    in_flight: int
    current_rps: float  # completions during the last second


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile (``q`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


class LoadResult(BaseModel):
    """A finished (or stopped) run: every request that was scheduled, in schedule order."""

    model_config = _FROZEN

    run_id: str
    seed: int
    target_rps: float
    duration_s: float
    started_at: float  # epoch seconds of offset 0
    stopped_early: bool
    records: tuple[LoadRecord, ...]

    @property
    def sent(self) -> int:
        return sum(1 for r in self.records if r.sent_at is not None)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.records if r.ok)

    def achieved_rps(self) -> float:
        """Requests actually sent per second of the schedule."""
        return self.sent / self.duration_s

    def ok_rps(self) -> float:
        """Successful requests per second of the schedule."""
        return self.ok / self.duration_s

    def arrival_error_ms(self, q: float) -> float | None:
        """Quantile of (actual - scheduled) send time over the requests that were sent."""
        return quantile([r.arrival_error_ms for r in self.records if r.arrival_error_ms is not None], q)

    def latency_ms(self, q: float) -> float | None:
        """Latency quantile over successful requests."""
        return quantile([r.latency_ms for r in self.records if r.ok and r.latency_ms is not None], q)

    def error_kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            if record.error_kind:
                counts[record.error_kind] = counts.get(record.error_kind, 0) + 1
        return counts
