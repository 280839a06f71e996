"""Typed data of workflow load: what to run (:class:`WorkflowLoad`) and how each workflow run
went (:class:`WorkflowRun`, one :class:`StepRun` per step). Times are seconds since the
generator's start (offset 0 of its schedule); the runner shifts them to run-relative times.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from chaos.scenario.workflows import WorkflowSpec

_FROZEN = ConfigDict(frozen=True, extra="forbid")

StepOutcome = Literal["ok", "fallback", "failed", "cancelled"]
"""``ok``: a model answered (perhaps after retries); ``fallback``: the retries ran out and the
step's template answer was used; ``failed``: the retries ran out, no fallback; ``cancelled``:
the run was stopped while the step was in progress."""

WorkflowOutcome = Literal["succeeded", "fallback", "abandoned", "cancelled"]
"""``succeeded``: every step answered by a model; ``fallback``: finished, at least one step on
its fallback; ``abandoned``: a step failed without fallback, so the workflow gave up (later
steps were never sent); ``cancelled``: the run was stopped before the workflow finished."""


class WorkflowLoad(BaseModel):
    """Open-loop workflow arrivals: each workflow type at its ``rate_per_s`` for ``duration_s``."""

    model_config = _FROZEN

    workflows: tuple[WorkflowSpec, ...] = Field(min_length=1)
    api_keys: dict[str, SecretStr]  # tenant -> key
    duration_s: float = Field(gt=0, le=24 * 3600)
    arrival: Literal["constant", "poisson"] = "constant"
    seed: int = 0
    max_tokens: int = Field(64, gt=0)
    # Body ``model`` per route (external gateways route on it); a step's own ``model`` wins.
    route_models: dict[str, str] = Field(default_factory=dict)
    # Workflows in progress beyond this are not started; they are recorded as abandoned.
    max_in_flight: int = Field(4096, ge=1, le=100_000)
    request_timeout_s: float = Field(30.0, gt=0, le=3600)
    path: str = "/v1/chat/completions"

    def target_rps(self) -> float:
        """Requests per second if every step succeeds at its first try."""
        return sum(w.rate_per_s * len(w.steps) for w in self.workflows)


class StepRun(BaseModel):
    """One step of one workflow run."""

    model_config = _FROZEN

    step: str
    outcome: StepOutcome
    attempts: int  # requests sent for this step (0 when it went straight to fallback)
    request_ids: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # error kind of each failed attempt
    started_s: float
    ended_s: float

    @property
    def retried(self) -> bool:
        return self.attempts > 1


class WorkflowRun(BaseModel):
    """One workflow from its arrival to its end."""

    model_config = _FROZEN

    workflow_id: str
    workflow: str  # the workflow type (load.workflows[].name)
    index: int
    scheduled_s: float
    started_s: float
    ended_s: float
    outcome: WorkflowOutcome
    steps: tuple[StepRun, ...] = ()

    @property
    def latency_ms(self) -> float:
        return max(0.0, self.ended_s - self.started_s) * 1000.0

    @property
    def steps_retried(self) -> int:
        return sum(1 for s in self.steps if s.retried)

    @property
    def fallbacks(self) -> int:
        return sum(1 for s in self.steps if s.outcome == "fallback")
