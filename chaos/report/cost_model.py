"""``report.json``'s cost figures: ``metrics.cost`` and ``faults[i].cost``.

What the run cost is computed by :mod:`chaos.runner.cost` from the simulated upstreams' own
usage logs (what each one answered, in tokens) × the price per 1,000 tokens in the model catalog
of the policy bundle the run used — never from what the gateway says it spent. A figure that
cannot be established (no usage logs, no requests, a model without a catalog price) is ``None``
and ``reason`` says why: an unknown cost is never shown as $0.

>>> CostMetrics(requests=0, reason="no requests in the measured phases").usd_total is None
True
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelCost(_Frozen):
    """What one model's upstream answers consumed during the measured phases."""

    requests: int = Field(description="upstream answers that generated tokens (the model's "
                          "usage log entries, plus answers estimated for want of one)")
    prompt_tokens: int  # estimated tokens included (see estimated_*)
    completion_tokens: int
    estimated_requests: int = 0  # answers whose tokens the upstream did not report
    estimated_prompt_tokens: int = 0
    estimated_completion_tokens: int = 0
    usd_per_1k_tokens: float | None = Field(
        None, description="the catalog price (None: the catalog has no price for this model)")
    usd: float | None = None  # None when usd_per_1k_tokens is None


class EstimatedUsage(_Frozen):
    """Answers an upstream logged as served but whose tokens it did not report (e.g. it was
    killed mid-answer): tokens estimated as the run's mean reported answer of that model."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float | None = None


class UnattributedUsage(_Frozen):
    """Upstream answers no client request of the run can be linked to (gateway health probes,
    requests without a harness id). Not part of ``usd_total`` or the per-1k figures."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float | None = None


class CostCatalog(_Frozen):
    """Where the prices came from: the policy bundle the run used (``policy.sha256``)."""

    source: str = Field(description="the bundle path and data path the prices were read from")
    policy_sha256: str
    usd_per_1k_tokens: dict[str, float] = {}  # the price of each model the run's upstreams serve


class CostPoint(_Frozen):
    """One second of the measured run, by the time requests were sent."""

    t_s: int
    requests: int
    usd: float | None
    usd_per_1k_requests: float | None


class CostMetrics(_Frozen):
    """What the measured phases cost (``metrics.cost``)."""

    usd_total: float | None = Field(
        None, description="US dollars of every upstream answer to a measured client request "
        "(failed-over attempts, hedges and retries included), estimated answers included")
    usd_per_1k_requests: float | None = Field(
        None, description="usd_total per 1,000 client requests of the measured phases")
    requests: int = Field(description="client requests of the measured phases")
    by_model: dict[str, ModelCost] = {}
    estimated: EstimatedUsage = EstimatedUsage()
    unattributed: UnattributedUsage = UnattributedUsage()
    usage_file: str | None = Field(
        None, description="the upstreams' usage logs, merged, in the report directory")
    catalog: CostCatalog | None = None
    timeseries: tuple[CostPoint, ...] = ()
    reason: str | None = Field(None, description="why a figure is null (no data is not $0)")


class FaultCost(_Frozen):
    """Cost per 1,000 requests during a fault and over the same span just before it (the
    windows of ``faults[i].effect``, by the time requests were sent): the price of resilience."""

    requests_before: int
    usd_before: float | None = None
    usd_per_1k_requests_before: float | None = None
    requests_during: int
    usd_during: float | None = None
    usd_per_1k_requests_during: float | None = None
    reason: str | None = Field(None, description="why a figure is null")
