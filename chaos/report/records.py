"""What one run recorded, item by item: the request records of ``requests.jsonl`` and the
check, fault, violation and attribution records that ``report.json`` is made of.

These are the report contract's leaves (:mod:`chaos.report.model` assembles them): the runner
produces them, the renderers and ``govchaos report verify`` read them, and neither side owns
them. A :class:`RequestRecord`'s times are seconds since the run started, which is what phases
and fault windows are measured in (the load generator's own :class:`chaos.load.LoadRecord`
carries epoch times; :func:`chaos.runner.records.from_load_record` converts it).

>>> RequestRecord(request_id="r1", sent_at_s=0.0, ended_at_s=0.2, route="x", tenant="t",
...               status=200).ok
True
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class RequestRecord(BaseModel):
    """One request as the client saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    sent_at_s: float
    ended_at_s: float
    route: str
    tenant: str
    data_classes: tuple[str, ...] = ()
    region: str | None = None  # residency requirement sent
    stream: bool = False
    status: int = 0  # 0: no HTTP response (connect error, client timeout)
    latency_ms: float = 0.0
    served_by: str | None = None  # X-Govchaos-Served-By (model id)
    upstream: str | None = None  # X-Govchaos-Upstream
    attempts: int = 0
    failovers: tuple[str, ...] = ()  # "upstream:reason"
    retry_after: bool | None = None  # a Retry-After header came back (None: not recorded)
    retry_after_s: float | None = None  # its value in seconds, when it came back
    error: str | None = None  # transport error or a stream that ended with an error event
    error_code: str | None = None  # ``error.code`` of the gateway's error answer, if any
    # Agent workflows (load.workflows): the workflow run, its type, the step and its try.
    workflow_id: str | None = None
    workflow: str | None = None
    step: str | None = None
    attempt: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None

    @property
    def graceful(self) -> bool:
        """A clear refusal the client can act on: a 503 or 429 that says when to retry.

        Without a Retry-After the client cannot tell "back off" from "broken", so a bare 503 or
        429 is not graceful; neither is one whose header was not recorded (no evidence).
        """
        return self.status in (429, 503) and (self.retry_after is True
                                                or self.retry_after_s is not None)


class CheckResult(BaseModel):
    """One probe or assertion: what was expected, what was observed, and whether it held."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    metric: str
    op: str
    expected: float
    observed: float | None
    passed: bool
    requests: int  # how many requests the metric was computed over
    during: str | None = None
    phase: str | None = None
    scope: dict[str, str] = {}
    detail: str = ""
    # Never evaluated: the run ended (a stop condition fired, or the steady state deviated
    # before the faults) before this check's window. Not a pass: ``passed`` stays False.
    skipped: bool = False


FaultStatus = Literal["planned", "applied", "reverted", "failed", "not_reached"]


class AppliedFault(BaseModel):
    """A fault as it really happened (times in seconds since the run started)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: str
    target: str
    params: dict[str, Any]
    planned_at_s: float  # relative to the fault phase, as written in the scenario
    planned_duration_s: float
    applied_at_s: float | None = None
    revert_started_at_s: float | None = None  # the revert began: the effect window ends here
    reverted_at_s: float | None = None
    status: FaultStatus = "planned"
    error: str | None = None


class Violation(BaseModel):
    """One request that reached a model the policy did not allow for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream: str
    model: str
    request_id: str | None
    # "model not allowed" | "unattributable request" | "unknown request marker" |
    # "markers of requests with different decisions"
    reason: str
    route: str | None = None
    tenant: str | None = None
    data_classes: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


class AttributionMismatch(BaseModel):
    """A success the gateway's headers attribute differently from the upstream logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    gateway_says: str  # the upstream (or model) named by the response headers
    upstream_logs: str | None  # the upstream that answered it per the logs (None: none did)


class AttributionSummary(BaseModel):
    """How served-by was established (``metrics.attribution`` in ``report.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = "upstream request logs (content markers)"
    successes: int = 0
    attributed: int = 0  # successes an upstream's log shows it answered
    unattributed: int = 0  # successes no upstream log shows answered (no served-by)
    ambiguous: int = 0  # several upstreams answered; the named or the last one was taken
    header_checked: int = 0  # successes whose response carried served-by headers
    mismatches: int = 0  # headers name an upstream the logs do not show answering
    examples: tuple[AttributionMismatch, ...] = ()
