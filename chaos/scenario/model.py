"""The scenario file as typed, frozen models.

A scenario says what to start (target gateway, simulated upstreams, keys), what traffic to send
(open-loop load), what must hold before and after (steady-state probes), what to break and when
(fault timeline), when to give up early (stop conditions) and what must be true at the end
(assertions). :func:`chaos.scenario.schema.scenario_json_schema` derives the published JSON
Schema from these models, so the schema and the code cannot drift apart.

>>> Scenario.model_validate({"name": "x", "seed": 1, "upstreams": [
...     {"name": "a", "model": "gpt-4o-cloud-eu", "hosting": "cloud", "region": "eu"}],
...     "load": {"rate_rps": 5, "routes": [{"route": "customer-chat", "tenant": "globex-retail"}]}
... }).name
'x'
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.scenario.workflows import WorkflowSpec

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"

Comparison = Literal[">=", "<=", "==", "<", ">", "!="]

Metric = Literal[
    "success_rate",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "failover_time_ms",
    "recovery_time_s",
    "error_budget",
    "graceful_degradation_rate",
    "policy_violations",
    "requests",
    "throughput_rps",
    # share of the window's successes `where.upstream` served, per the upstream logs
    "upstream_share",
    # agent workflows (load.workflows): chaos.runner.workflow_metrics
    "workflow_success_rate",
    "workflow_latency_p50_ms",
    "workflow_latency_p95_ms",
    "workflow_latency_p99_ms",
    "workflow_steps_retried",
    "workflow_fallbacks",
    "workflow_abandoned",
    "workflows",
    "data_flow_violations",
]


# Metrics over the selected requests themselves, which `where.upstream` can narrow to those one
# upstream served (per its own log).
UPSTREAM_SCOPED_METRICS = frozenset({
    "requests", "throughput_rps", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
    "upstream_share"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicyRef(_Frozen):
    """Which policy bundle the run is judged against (path relative to the scenario file)."""

    bundle: str = Field("../policies", description="policy bundle directory")


WARMUP_DESCRIPTION = (
    "seconds of load sent once the gateway is ready and before steady_before, for gateways "
    "whose first requests are slow; warm-up requests count in no window and no metric (what "
    "they delivered to upstreams is still checked for policy violations)"
)


class ReferenceTarget(_Frozen):
    """The harness starts the reference gateway with a config filled from a template."""

    kind: Literal["reference"] = "reference"
    config_template: str = Field(
        "gateway.template.yaml",
        description="gateway config template, relative to the scenario file",
    )
    ready_timeout_s: float = Field(20.0, gt=0, le=120)
    warmup_s: float = Field(0.0, ge=0, le=120, description=WARMUP_DESCRIPTION)
    workers: int = Field(
        1, ge=1, le=64,
        description="gateway worker processes (govchaos gateway serve --workers N); above 1 the "
        "config template's audit must be a directory (${audit_dir}): one chain per worker, all "
        "verified")


class ExternalTarget(_Frozen):
    """Another gateway (LiteLLM, Envoy...): a base URL, optionally a command that starts it.

    ``base_url``, ``command`` and ``env`` may use the template placeholders (``${free_port}``,
    ``${config_file}``, ``${target.api_key}``, ``${keys.<tenant>}``...). ``command[0]``, when it is a bare name, is
    looked up in ``command_path`` only (directories relative to the scenario file) — or on
    the harness's ``PATH`` when ``command_path`` is empty; a relative path with a ``/`` is
    relative to the scenario file.
    """

    kind: Literal["external"]
    base_url: str = Field(description="gateway base URL, e.g. http://127.0.0.1:${free_port}")
    command: tuple[str, ...] | None = Field(
        None, min_length=1,
        description="argv started by the harness; ${config_file} is the filled template",
    )
    command_path: tuple[str, ...] = Field(
        (), description="directories searched for command[0], relative to the scenario file "
        "(empty: the harness's PATH)",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="extra environment variables for command"
    )
    config_template: str | None = None
    ready_timeout_s: float = Field(30.0, gt=0, le=300)
    ready_path: str = Field("/v1/models", description="GET path that answers < 500 when ready")
    warmup_s: float = Field(0.0, ge=0, le=120, description=WARMUP_DESCRIPTION)
    api_key: str | None = Field(
        None, min_length=8,
        description="one key the load generator sends for every tenant (a gateway that knows a "
        "single master key, e.g. LiteLLM without a database); ${target.api_key} in templates; "
        "default: the scenario's per-tenant keys",
    )
    route_models: dict[str, str] = Field(
        default_factory=dict,
        description="body `model` sent for each route (gateways such as LiteLLM route on it); "
        "a route mix entry's own `model` wins",
    )

    @model_validator(mode="after")
    def _command_fields(self) -> "ExternalTarget":
        if self.command is None:
            for name in ("command_path", "env"):
                if getattr(self, name):
                    raise ValueError(f"target.{name}: only meaningful with a command")
        return self


Target = Annotated[ReferenceTarget | ExternalTarget, Field(discriminator="kind")]


class LatencyProfile(_Frozen):
    """How fast a simulated upstream answers when nothing is broken."""

    base_ms: float = Field(5.0, ge=0, le=60_000)
    jitter_ms: float = Field(2.0, ge=0, le=60_000)
    per_token_ms: float = Field(0.5, ge=0, le=60_000, description="pause between stream chunks")


class UpstreamSpec(_Frozen):
    """One simulated OpenAI-compatible upstream, reached through its own fault proxy."""

    name: str = Field(pattern=NAME_PATTERN)
    model: str = Field(description="model catalog id, e.g. llama-3.1-70b-private-eu")
    hosting: Literal["private", "cloud", "edge"]
    region: str
    provider: str = "simulated"
    latency: LatencyProfile = Field(default_factory=LatencyProfile)
    gpu_device: int | None = Field(None, ge=0, description="GPU index backing this upstream")
    priority: int = Field(0, description="lower is preferred by the gateway config template")


class TenantKey(_Frozen):
    """An API key the load generator uses for a tenant (a test key, not a secret)."""

    tenant: str
    key: str = Field(min_length=8)


class RouteMix(_Frozen):
    """One slice of the traffic: a route, the tenant calling it and the data classes it carries."""

    route: str
    tenant: str
    weight: float = Field(1.0, gt=0)
    data_classes: tuple[str, ...] = ()
    region: str | None = Field(None, description="residency requirement sent as a header")
    model: str | None = Field(None, description="body `model` (external gateways route on it)")


class LoadSpec(_Frozen):
    """Open-loop load: arrivals at ``rate_rps`` whatever the gateway's latency — independent
    requests (``routes``) or agent workflows (``workflows``, each at its own ``rate_per_s``)."""

    rate_rps: float | None = Field(None, gt=0, le=5000, description="needed with `routes`")
    duration_s: float | None = Field(
        None, gt=0, le=600, description="length of the fault phase; default: last fault end"
    )
    routes: tuple[RouteMix, ...] = ()
    workflows: tuple[WorkflowSpec, ...] = Field(
        (), description="agent workflows (chaos.scenario.workflows); instead of `routes`"
    )
    stream_share: float = Field(0.0, ge=0, le=1)
    arrival: Literal["constant", "poisson"] = "constant"
    max_tokens: int = Field(64, gt=0)
    request_timeout_s: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _routes_or_workflows(self) -> "LoadSpec":
        if bool(self.routes) == bool(self.workflows):
            raise ValueError("load: give either `routes` or `workflows` (exactly one)")
        if self.routes and self.rate_rps is None:
            raise ValueError("load.rate_rps: required with `routes`")
        if self.workflows and self.rate_rps is not None:
            raise ValueError("load.rate_rps: workflows set their own `rate_per_s`")
        _unique([w.name for w in self.workflows], "load.workflows", "workflow name")
        return self


class Scope(_Frozen):
    """Restricts a probe or assertion to some of the traffic."""

    route: str | None = None
    tenant: str | None = None
    data_class: str | None = None
    workflow: str | None = Field(None, description="workflow type (load.workflows)")
    step: str | None = Field(None, description="workflow step id")
    error_code: str | None = Field(
        None, description="requests the gateway refused with this `error.code` (e.g. "
        "budget_exceeded), as the load generator saw the answer")
    upstream: str | None = Field(
        None, description="requests served by this upstream, per the upstreams' own logs "
        "(ground truth); for request-counting metrics only")


class Probe(_Frozen):
    """``metric op value`` over a set of requests. Used by steady state and stop conditions."""

    metric: Metric
    op: Comparison
    value: float
    where: Scope | None = None


class SteadyState(_Frozen):
    """The hypothesis checked on a window before the faults and again after recovery."""

    duration_s: float = Field(3.0, gt=0, le=120)
    probes: tuple[Probe, ...] = ()


class StopCondition(Probe):
    """Abort the run early when ``metric op value`` holds over the last ``window_s`` seconds."""

    window_s: float = Field(2.0, gt=0, le=60)
    min_requests: int = Field(10, ge=1)


class FaultSpec(_Frozen):
    """One entry of the fault timeline (times relative to the start of the fault phase)."""

    name: str | None = Field(None, pattern=NAME_PATTERN, description="default: <kind>-<index>")
    kind: str = Field(description="fault kind, e.g. upstream_down, latency, gpu_lost")
    target: str = Field(description="upstream name the fault applies to")
    at_s: float = Field(ge=0, le=600)
    duration_s: float = Field(gt=0, le=600)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s


class Assertion(Probe):
    """A pass/fail check at the end of the run; ``during`` narrows it to a fault's window."""

    during: str | None = Field(None, description="fault name: only requests sent in its window")
    phase: Literal["run", "steady_before", "faults", "recovery", "steady_after"] = "run"
    name: str | None = None


class Scenario(_Frozen):
    """A whole chaos experiment."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    proves: str = Field("", description="what a passing run demonstrates")
    seed: int = 0
    policy: PolicyRef = Field(default_factory=PolicyRef)
    target: Target = Field(default_factory=ReferenceTarget)
    upstreams: tuple[UpstreamSpec, ...] = Field(min_length=1)
    keys: tuple[TenantKey, ...] = ()
    load: LoadSpec
    steady_state: SteadyState = Field(default_factory=SteadyState)
    faults: tuple[FaultSpec, ...] = ()
    recovery_s: float = Field(3.0, ge=0, le=120, description="settle time after the last fault")
    stop_conditions: tuple[StopCondition, ...] = ()
    assertions: tuple[Assertion, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self) -> "Scenario":
        names = [u.name for u in self.upstreams]
        _unique(names, "upstreams", "upstream name")
        fault_names = [f.name for f in self.named_faults()]
        _unique(fault_names, "faults", "fault name")
        for i, fault in enumerate(self.faults):
            if fault.target not in names:
                raise ValueError(
                    f"faults.{i}.target: unknown upstream {fault.target!r} "
                    f"(declared: {', '.join(names)})"
                )
        for what, probes in (("steady_state.probes", self.steady_state.probes),
                             ("stop_conditions", self.stop_conditions)):
            for i, probe in enumerate(probes):
                if probe.metric == "upstream_share" and (probe.where is None
                                                         or probe.where.upstream is None):
                    raise ValueError(f"{what}.{i}.where.upstream: upstream_share needs the "
                                     "upstream whose share it is")
                if probe.where is not None and probe.where.upstream is not None \
                        and probe.where.upstream not in names:
                    raise ValueError(f"{what}.{i}.where.upstream: unknown upstream "
                                     f"{probe.where.upstream!r} (declared: {', '.join(names)})")
        for i, check in enumerate(self.assertions):
            if check.during is not None and check.during not in fault_names:
                raise ValueError(
                    f"assertions.{i}.during: unknown fault {check.during!r} "
                    f"(declared: {', '.join(fault_names) or 'none'})"
                )
            if check.metric in {"failover_time_ms", "recovery_time_s"} and check.during is None:
                raise ValueError(f"assertions.{i}.during: {check.metric} needs a fault name")
            if check.metric == "upstream_share" and (check.where is None
                                                     or check.where.upstream is None):
                raise ValueError(f"assertions.{i}.where.upstream: upstream_share needs the "
                                 "upstream whose share it is")
            if check.where is not None and check.where.upstream is not None:
                if check.metric not in UPSTREAM_SCOPED_METRICS:
                    raise ValueError(
                        f"assertions.{i}.where.upstream: only for "
                        f"{', '.join(sorted(UPSTREAM_SCOPED_METRICS))}, not {check.metric}")
                if check.where.upstream not in names:
                    raise ValueError(f"assertions.{i}.where.upstream: unknown upstream "
                                     f"{check.where.upstream!r} (declared: {', '.join(names)})")
        if isinstance(self.target, ExternalTarget):
            routes = {r.route for r in self.load.routes} | {
                s.route for w in self.load.workflows for s in w.steps}
            for route in self.target.route_models:
                if route not in routes:
                    raise ValueError(
                        f"target.route_models: {route!r} is not a load route "
                        f"(load routes: {', '.join(sorted(routes))})"
                    )
        for check_i, check in enumerate(self.assertions):
            where = check.where
            if where is not None and (where.workflow or where.step):
                _workflow_scope(self.load.workflows, where, f"assertions.{check_i}.where")
        if self.load.duration_s is not None and self.faults:
            last = max(f.end_s for f in self.faults)
            if self.load.duration_s < last:
                raise ValueError(
                    f"load.duration_s: {self.load.duration_s} is shorter than the fault "
                    f"timeline, which ends at {last} s"
                )
        return self

    def named_faults(self) -> tuple[FaultSpec, ...]:
        """Faults with their default names filled in (``<kind>-<index>``)."""
        return tuple(
            f if f.name else f.model_copy(update={"name": f"{re.sub('_', '-', f.kind)}-{i}"})
            for i, f in enumerate(self.faults)
        )

    def upstream(self, name: str) -> UpstreamSpec:
        """The upstream called ``name``; raises KeyError when absent."""
        for spec in self.upstreams:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def fault_phase_s(self) -> float:
        """Length of the fault phase: ``load.duration_s`` or the end of the last fault."""
        if self.load.duration_s is not None:
            return self.load.duration_s
        return max((f.end_s for f in self.faults), default=0.0)

    def planned_duration_s(self) -> float:
        """Warm-up + steady state before + faults + recovery + steady state after."""
        return (self.target.warmup_s + 2 * self.steady_state.duration_s + self.fault_phase_s()
                + self.recovery_s)


def _workflow_scope(workflows: tuple[WorkflowSpec, ...], where: Scope, field: str) -> None:
    names = [w.name for w in workflows]
    if where.workflow is not None and where.workflow not in names:
        raise ValueError(f"{field}.workflow: unknown workflow {where.workflow!r} "
                         f"(declared: {', '.join(names) or 'none'})")
    if where.step is not None:
        steps = {s.id for w in workflows if where.workflow in (None, w.name) for s in w.steps}
        if where.step not in steps:
            raise ValueError(f"{field}.step: unknown step {where.step!r} "
                             f"(declared: {', '.join(sorted(steps)) or 'none'})")


def _unique(values: list[Any], field: str, what: str) -> None:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{field}.{i}: duplicate {what} {value!r}")
        seen.add(value)
