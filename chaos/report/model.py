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

from chaos.report.cost_model import CostMetrics, FaultCost
from chaos.report.records import AppliedFault, AttributionSummary, CheckResult, Violation
from chaos.report.workflow_model import WorkflowSection

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
    file: str | None = Field(
        None, description="the scenario YAML as run, copied into the report directory (its "
        "sha256 is `sha256`)")


class PolicyInfo(_Frozen):
    bundle: str
    sha256: str
    files: tuple[str, ...] = ()


class GatewayInfo(_Frozen):
    kind: Literal["reference", "external"]
    version: str | None = None
    config_sha256: str | None = None
    base_url: str | None = None
    log_file: str | None = Field(None, description="the gateway process's output, when the "
                                 "harness started it (on the machine that ran it)")
    exit_code: int | None = Field(None, description="set when the gateway process ended by "
                                  "itself (before it was ready, or during the run)")
    log_tail: str | None = Field(None, description="last lines of log_file when it ended by "
                                 "itself")


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
    name: Literal["start", "warmup", "steady_before", "faults", "recovery", "steady_after",
                  "teardown"]
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
    # Cost per 1k requests before and during the fault, over the effect's windows (None: a
    # report written before cost accounting, or a fault never applied).
    cost: FaultCost | None = None


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
    # What the measured phases cost, from the upstreams' usage logs x the catalog's prices
    # (chaos.report.cost_model); None only in reports written before cost accounting.
    cost: CostMetrics | None = None


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


class AuditChain(_Frozen):
    """One chain of a multi-worker gateway's audit set (``audit/worker-<i>/``)."""

    name: str = Field(description="the chain's directory inside the audit directory")
    records: int | None = Field(None, description="records of the chain, null when it did not"
                                " verify")
    head: str | None = None
    verified: bool = False
    error: str | None = None


class AuditInfo(_Frozen):
    file: str | None
    head: str | None = Field(None, description="the chain head; for a set of worker chains"
                             " (chains), sha256 over their 'name records head' lines")
    records: int | None = Field(None, description="records in the chain, or in all chains")
    verified: bool = False
    error: str | None = None
    chains: tuple[AuditChain, ...] | None = Field(
        None, description="one entry per worker chain named in audit/workers.json (gateway"
        " serve --workers N); null for a single chain")


class UpstreamInfo(_Frozen):
    """One upstream of the run and what the policy's catalog says about its model."""

    name: str
    model: str
    provider: str | None = None
    hosting: str | None = None  # private | cloud | edge
    region: str | None = None
    jurisdiction: str | None = None
    gpu_device: int | None = None
    source: Literal["catalog", "scenario"] = Field(
        "scenario", description="catalog: attributes from the policy bundle's model catalog")


class MatrixCell(_Frozen):
    model: str
    data_class: str
    received: int = Field(description="upstream requests carrying this data class that this "
                          "model actually received (upstream-requests.jsonl)")
    policy: Literal["allowed", "forbidden", "mixed"] = Field(
        description="the recomputed policy decision for every request shape of the run that "
        "carried this class: the model was allowed for all, forbidden for all, or for some")


class DataClassMatrix(_Frozen):
    """Model × data class of what the upstreams received (ground truth), with policy marks."""

    models: tuple[str, ...]
    data_classes: tuple[str, ...]
    cells: tuple[MatrixCell, ...] = ()
    # Client-looking upstream requests that could not be attributed to a request (per model).
    unattributed: dict[str, int] = {}


class GitInfo(_Frozen):
    path: str = Field(description="relative to the git work tree's root")
    commit: str | None = None
    dirty: bool | None = Field(None, description="uncommitted or untracked changes under path")


class CiInfo(_Frozen):
    provider: Literal["github-actions", "gitlab-ci", "jenkins", "generic"]
    run_url: str | None = None
    job_url: str | None = None
    repository: str | None = None
    run_id: str | None = None
    run_attempt: str | None = None
    workflow: str | None = None
    job: str | None = None
    ref: str | None = None
    commit: str | None = None
    actor: str | None = None


class Provenance(_Frozen):
    """Where the inputs came from (also in the signed predicate)."""

    policy_bundle: GitInfo | None = None
    scenario: GitInfo | None = None
    ci: CiInfo | None = None


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
    # Each stop condition as a check: passed = never tripped; skipped = never evaluated (no
    # window ever had min_requests).
    stop_conditions: tuple[CheckResult, ...] = ()
    stopped_early: StopInfo | None = None
    verdict: Verdict
    verdict_reasons: tuple[str, ...] = ()
    audit: AuditInfo
    events: tuple[HarnessEvent, ...] = ()
    upstreams: tuple[UpstreamInfo, ...] = ()
    data_class_matrix: DataClassMatrix | None = None
    # Agent workflows (load.workflows): chaos.report.workflow_model; None for request load.
    workflows: WorkflowSection | None = None
    provenance: Provenance = Provenance()
    files: tuple[str, ...] = ()
    partial: bool = False

    def checks(self) -> tuple[CheckResult, ...]:
        """Every check of the run, in report order: steady state before, assertions, steady
        state after, stop conditions (what junit.xml lists, one testcase each)."""
        return (*self.steady_state.before, *self.assertions, *self.steady_state.after,
                *self.stop_conditions)


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
        os.fchmod(fd, file_mode())  # mkstemp makes 0600: give it the mode of every other file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def file_mode() -> int:
    """The mode a new file gets under this process's umask (0644 under the usual 022).

    Every file of a report directory gets this one mode, so a directory never mixes private and
    world-readable files (``mkstemp`` alone would make ``report.json`` 0600).
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def read_report(path: Path) -> Report:
    """Parse a ``report.json``. Raises pydantic.ValidationError / OSError / ValueError."""
    return Report.model_validate_json(path.read_bytes())
