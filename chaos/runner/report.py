"""``report.json``: the typed record of one chaos run, and its JSON Schema.

The report is what auditors and later tooling (rendering, signing, ``govchaos report verify``)
read, so every field is declared here and the schema is generated from these models
(:func:`report_json_schema`). Harness events (phase boundaries, faults applied and reverted) are
kept in :attr:`Report.events`, not appended to the gateway's ``audit.jsonl``: that chain belongs
to the gateway process, and a second writer would break its hash chain.

>>> report_json_schema()["properties"]["schema_version"]["const"]
'1'
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaos.runner.assertions import CheckResult
from chaos.runner.attribution import AttributionSummary
from chaos.runner.timeline import AppliedFault
from chaos.runner.violations import Violation

SCHEMA_VERSION = "1"
REPORT_FILE = "report.json"
Verdict = Literal["passed", "failed", "broken"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioInfo(_Frozen):
    name: str
    sha256: str
    path: str
    description: str = ""
    proves: str = ""


class PolicyInfo(_Frozen):
    bundle: str
    sha256: str
    files: tuple[str, ...] = ()


class GatewayInfo(_Frozen):
    kind: Literal["reference", "external"]
    version: str | None = None
    config_sha256: str | None = None
    base_url: str | None = None


class GpuInfo(_Frozen):
    index: int
    model: str
    driver: str | None = None


class EnvironmentInfo(_Frozen):
    govchaos_version: str
    python_version: str
    platform: str
    host: str
    cpu_count: int | None = None
    gpus: tuple[GpuInfo, ...] = ()
    toxiproxy: str = Field("embedded", description="'embedded' or the TOXIPROXY_URL used")
    fault_proxy_seed: int | None = Field(
        None, description="seed of the embedded fault proxy (None: a real, unseeded Toxiproxy)")


class PhaseInfo(_Frozen):
    name: Literal["start", "steady_before", "faults", "recovery", "steady_after", "teardown"]
    start_s: float
    end_s: float | None = None


class FaultEffect(_Frozen):
    """Whether the fault really took effect (``verified``: its kind's declared effect, checked
    from ground truth), and what traffic looked like while it was in force, compared with just
    before it. A fault with ``verified: false`` makes the run ``broken``."""

    verified: bool
    expected: str  # the effect the fault kind declares it must produce
    observed: str  # what the ground truth showed
    window_s: float
    requests_before: int
    success_rate_before: float | None
    target_share_before: float | None  # share of successes served by the fault's target
    requests_during: int
    errors_during: int
    success_rate_during: float | None
    target_share_during: float | None
    failovers_during: int  # requests sent in the window that failed over (chaos.runner.metrics)
    failover_reasons: dict[str, int] = {}
    upstream_requests_during: int | None = None  # what the target's own log saw in the window
    latency_p95_ms_during: float | None = None
    summary: str = ""


class FaultReport(AppliedFault):
    effect: FaultEffect | None = None


class TimePoint(_Frozen):
    t_s: int
    sent: int
    ok: int
    errors: int
    latency_p95_ms: float | None


class Metrics(_Frozen):
    requests: int
    ok: int
    errors: int
    success_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    throughput_rps: float | None
    by_status: dict[str, int] = {}
    served_by_model: dict[str, int] = {}  # successes by the model that served them (upstream logs)
    upstream_received_by_model: dict[str, int] = {}  # ground truth from the upstreams' logs
    by_data_class: dict[str, dict[str, int]] = {}
    # Requests that failed over (one definition: chaos.runner.metrics), whole run, by the reason
    # of their first failed attempt ("unreported": only the upstream logs show it).
    failovers: int = 0
    failovers_by_reason: dict[str, int] = {}
    attribution: AttributionSummary | None = None  # how served-by was established
    timeseries: tuple[TimePoint, ...] = ()


class SteadyStateResults(_Frozen):
    before: tuple[CheckResult, ...] = ()
    after: tuple[CheckResult, ...] = ()


class PolicyViolations(_Frozen):
    checked: int  # upstream request-log entries examined (probes included)
    count: int
    examples: tuple[Violation, ...] = ()
    # Content-free upstream requests (gateway health probes): no client marker, prompt or
    # request id, so no policy decision applies. Counted apart, never as violations.
    probes: int = 0
    probes_by_upstream: dict[str, int] = {}
    probes_labelled: int = 0  # of the probes, how many carried X-Govchaos-Probe


class StopInfo(_Frozen):
    condition: str
    at_s: float
    observed: float | None


class AuditInfo(_Frozen):
    file: str | None
    head: str | None = None
    records: int | None = None
    verified: bool = False
    error: str | None = None


class HarnessEvent(_Frozen):
    t_s: float
    kind: Literal["phase", "fault"]
    name: str
    detail: str = ""


class Report(_Frozen):
    """Everything one run established. ``partial`` is true when it did not run to the end."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    run_id: str
    scenario: ScenarioInfo
    policy: PolicyInfo
    gateway: GatewayInfo
    seed: int
    environment: EnvironmentInfo
    started_at: str
    ended_at: str
    duration_s: float
    phases: tuple[PhaseInfo, ...] = ()
    faults: tuple[FaultReport, ...] = ()
    metrics: Metrics | None = None
    steady_state: SteadyStateResults = SteadyStateResults()
    assertions: tuple[CheckResult, ...] = ()
    policy_violations: PolicyViolations | None = None
    stopped_early: StopInfo | None = None
    verdict: Verdict
    verdict_reasons: tuple[str, ...] = ()
    audit: AuditInfo
    events: tuple[HarnessEvent, ...] = ()
    files: tuple[str, ...] = ()
    partial: bool = False


def report_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``report.json``."""
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://govchaos.dev/schemas/report.schema.json"
    return schema


def write_report(run_dir: Path, report: Report) -> Path:
    """Write ``run_dir/report.json`` atomically (a reader never sees half a report)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / REPORT_FILE
    text = json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".report-", dir=run_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_report(path: Path) -> Report:
    """Parse a ``report.json``. Raises pydantic.ValidationError / OSError / ValueError."""
    return Report.model_validate_json(path.read_bytes())
