"""Agent workflows in a scenario's load (``load.workflows``): typed, frozen models.

A workflow type is a sequence of steps, each one chat completion through the gateway; a step's
input is fixed text or the answers of earlier steps (``from``), optionally redacted
(``transform: redact`` drops the carried markers of what it was built from, and the step's own
``data_classes`` then declare what the result holds). Steps run in the order listed; ``from``
may name several earlier steps (a small DAG, run in a topological order). Per step the client
behaves like an agent framework: ``retry`` (attempts, backoff, a deadline for the step) and an
optional ``fallback`` (a template answer) once the retries ran out.

>>> WorkflowSpec.model_validate({"name": "claims", "tenant": "acme-health", "rate_per_s": 2,
...     "steps": [{"id": "read", "route": "claims-triage", "data_classes": ["pii"], "text": "x"},
...               {"id": "draft", "route": "customer-chat", "from": ["read"],
...                "transform": "redact", "data_classes": ["internal"]}]}).steps[1].from_
('read',)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STEP_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StepRetry(_Frozen):
    """How often a failed step is tried again, and how long the step may take in all."""

    attempts: int = Field(1, ge=1, le=10, description="tries in all (1: no retry)")
    backoff_ms: float = Field(
        0.0, ge=0, le=60_000, description="pause before retry n: backoff_ms * 2**(n-1)"
    )
    deadline_ms: float | None = Field(
        None, gt=0, le=600_000,
        description="the step's whole budget, retries included; an attempt never outlives it",
    )


class StepFallback(_Frozen):
    """What the workflow uses once a step's retries ran out (no request is sent)."""

    text: str = Field(min_length=1, description="a template answer")


class WorkflowStep(_Frozen):
    """One step: a chat completion on ``route`` declaring ``data_classes``."""

    id: str = Field(pattern=STEP_PATTERN)
    route: str
    data_classes: tuple[str, ...] = ()
    max_tokens: int | None = Field(None, gt=0, description="default: load.max_tokens")
    stream: bool = False
    region: str | None = Field(None, description="residency requirement sent as a header")
    model: str | None = Field(None, description="body `model` (external gateways route on it)")
    text: str | None = Field(None, min_length=1, description="fixed input text")
    from_: tuple[str, ...] = Field(
        (), alias="from", description="earlier steps whose answers are this step's input"
    )
    transform: Literal["redact"] | None = Field(
        None, description="redact: drop the carried markers of the `from` answers"
    )
    retry: StepRetry = Field(default_factory=StepRetry)
    fallback: StepFallback | None = None

    @model_validator(mode="after")
    def _one_input(self) -> "WorkflowStep":
        if (self.text is None) == (not self.from_):
            raise ValueError(f"step {self.id}: give exactly one input, `text` or `from`")
        if self.transform is not None and not self.from_:
            raise ValueError(f"step {self.id}: `transform` needs `from`")
        return self


class WorkflowSpec(_Frozen):
    """One workflow type, started open-loop at ``rate_per_s`` by ``tenant``."""

    name: str = Field(pattern=STEP_PATTERN)
    tenant: str
    rate_per_s: float = Field(gt=0, le=5000)
    steps: tuple[WorkflowStep, ...] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _step_references(self) -> "WorkflowSpec":
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.id in seen:
                raise ValueError(f"steps.{i}.id: duplicate step id {step.id!r}")
            for ref in step.from_:
                if ref not in seen:
                    raise ValueError(
                        f"steps.{i}.from: {ref!r} is not an earlier step of {self.name} "
                        f"(earlier: {', '.join(sorted(seen)) or 'none'})"
                    )
            seen.add(step.id)
        return self

    def step(self, step_id: str) -> WorkflowStep:
        """The step called ``step_id``; raises KeyError when absent."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
