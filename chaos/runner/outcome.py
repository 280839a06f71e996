"""The hand-over from running to reporting.

:class:`RunInputs` is what a run was asked to do (fixed before it starts); :class:`RunOutcome` is
what its phases left behind (fixed once teardown is over). The report stages
(:mod:`chaos.runner.assemble`) read only these two and the stopped :class:`RunStack`'s facts,
so a new kind of load or a new report section adds a field here and a stage there, without
touching the phase machinery of :mod:`chaos.runner.run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.faults.registry import FaultRegistry
from chaos.load.workflow_models import WorkflowRun
from chaos.report.model import CiInfo, HarnessEvent, PhaseInfo, StopInfo
from chaos.report.records import AppliedFault, CheckResult, RequestRecord
from chaos.runner.timeline import FaultTimeline
from chaos.scenario.loader import LoadedScenario


@dataclass(frozen=True, slots=True)
class RunInputs:
    """One run's inputs: the scenario as loaded and how to run it."""

    loaded: LoadedScenario
    run_dir: Path
    registry: FaultRegistry
    policy_engine: str = "regorus"
    toxiproxy_url: str | None = None
    ci: CiInfo | None = None  # the CI run's identity, read from the environment by the CLI


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the phases of one run left behind (times in seconds since the run started)."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    wall0: float  # epoch seconds of the run's start
    now_s: float  # when reporting began (after teardown)
    phases: tuple[PhaseInfo, ...]
    events: tuple[HarnessEvent, ...]
    records: tuple[RequestRecord, ...]  # every completed request, the warm-up's included
    measured_from_s: float | None  # end of the warm-up, if there was one
    upstream_entries: tuple[Any, ...]  # what the simulated upstreams logged (ground truth)
    timeline: FaultTimeline | None  # None: the fault phase never began
    client_texts: tuple[str, ...]  # the prompts the load sent (chaos.load.from_scenario)
    workflows: tuple[WorkflowRun, ...] = ()  # agent workflow runs, run-relative, measured only
    stop: StopInfo | None = None  # the stop condition that ended the run
    stop_results: tuple[CheckResult, ...] = ()
    deviated_before: bool = False
    broken: str | None = None
    teardown_problems: Sequence[str] = ()

    def applied(self) -> list[AppliedFault]:
        """The faults as the timeline applied them ([] when it never began)."""
        return self.timeline.applied() if self.timeline is not None else []
