"""The governance stage of a run's report: the policy recomputed over what really happened.

The scenario's policy bundle is loaded again (its digest and files go into the report), every
upstream request-log entry is attributed to the request that caused it and checked against the
decision for that request (:func:`chaos.runner.violations.count_violations`), and the model x
data-class matrix is built from the same decisions, one per request shape. Without the policy
there is no verdict on governance: a failure here is returned as ``error`` and makes the run
broken.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.report.model import DataClassMatrix, PolicyInfo, PolicyViolations, UpstreamInfo
from chaos.report.records import RequestRecord
from chaos.runner.data_flow import DataFlowSummary, count_data_flow_violations
from chaos.runner.evidence import data_class_matrix, shape_of, upstream_table
from chaos.runner.violations import candidates_for, catalog_models, count_violations
from chaos.scenario.model import Scenario
from governance.decision import DecisionInput


@dataclass(frozen=True, slots=True)
class PolicyFindings:
    """What the policy says about the run (``error`` set: it could not be evaluated)."""

    policy: PolicyInfo
    upstreams: tuple[UpstreamInfo, ...]
    violations: PolicyViolations | None = None
    matrix: DataClassMatrix | None = None
    by_model: dict[str, int] = field(default_factory=dict)  # upstream requests per served model
    data_flow: DataFlowSummary | None = None  # across workflow steps (chaos.runner.data_flow)
    # data.govchaos.catalog.models of the bundle evaluated (its prices cost the run)
    catalog: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def violation_count(self) -> int | None:
        """Violations found, or None when nothing was checked (no evidence is not 0)."""
        checked = self.violations is not None and self.violations.checked > 0
        return self.violations.count if checked and self.violations is not None else None


async def check_policy(
    scenario: Scenario,
    bundle_path: Path,
    *,
    engine: str,
    entries: Sequence[Any],
    records: Sequence[RequestRecord],
    client_texts: tuple[str, ...],
) -> PolicyFindings:
    """Evaluate the run against the policy bundle at ``bundle_path`` with ``engine``. Never
    raises: a failure is :attr:`PolicyFindings.error`."""
    try:
        return await _check(scenario, bundle_path, engine, entries, records, client_texts)
    except Exception as exc:  # no verdict on governance without the policy: broken
        return PolicyFindings(policy=PolicyInfo(bundle=scenario.policy.bundle, sha256=""),
                              upstreams=upstream_table(scenario.upstreams, {}),
                              error=f"policy evaluation failed: {exc}")


async def _check(
    scenario: Scenario, bundle_path: Path, engine_name: str, entries: Sequence[Any],
    records: Sequence[RequestRecord], client_texts: tuple[str, ...],
) -> PolicyFindings:
    from governance.engine import create_engine, load_bundle

    bundle = load_bundle(bundle_path)
    engine = create_engine(engine_name, bundle)
    by_id = {r.request_id: r for r in records}
    catalog = catalog_models(bundle.data)
    candidates = candidates_for(scenario.upstreams, catalog)
    max_tokens = scenario.load.max_tokens
    summary = await count_violations(entries, by_id, candidates, engine.decide,
                                     max_tokens=max_tokens, client_texts=client_texts)
    data_flow = await count_data_flow_violations(entries, by_id, candidates, engine.decide,
                                                 max_tokens=max_tokens)
    decisions = {}
    for record in records:  # one decision per request shape (a handful per run)
        shape = shape_of(record)
        if shape not in decisions:
            decisions[shape] = await _maybe_await(engine.decide(DecisionInput(
                route=record.route, tenant=record.tenant, data_classes=record.data_classes,
                region=record.region, candidates=candidates, max_tokens=max_tokens,
                stream=record.stream)))
    matrix = data_class_matrix(entries, by_id, decisions, [u.model for u in scenario.upstreams])
    return PolicyFindings(
        policy=PolicyInfo(bundle=scenario.policy.bundle,
                          sha256=bundle.digest.removeprefix("sha256:"), files=tuple(bundle.files)),
        upstreams=upstream_table(scenario.upstreams, catalog),
        violations=PolicyViolations(
            checked=summary.checked, count=summary.count, examples=summary.violations,
            probes=summary.probes, probes_by_upstream=summary.probes_by_upstream,
            probes_labelled=summary.probes_labelled,
        ),
        matrix=matrix,
        by_model=summary.by_model,
        data_flow=data_flow,
        catalog=catalog,
    )


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
