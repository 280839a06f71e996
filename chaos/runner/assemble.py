"""From a finished run to its ``report.json``: a short pipeline of named stages.

1. **governance** — the policy recomputed over what the upstreams received
   (:func:`chaos.runner.policy_check.check_policy`);
2. **attribution** — who served each request, from the upstreams' own logs;
3. **checks** — steady state before and after, assertions (:mod:`chaos.runner.checks`);
4. **faults** — each fault as applied and whether its declared effect was observed;
   **cost** — what the measured requests cost, whole run and per fault, from the upstreams'
   usage logs × the catalog's prices (:mod:`chaos.runner.cost`);
5. **verdict** — broken > failed > passed, with reasons (:func:`chaos.runner.verdict.judge`);
6. **artifacts** — the audit log verified, the files beside ``report.json`` written
   (:mod:`chaos.runner.artifacts`);
7. **report** — everything above as one :class:`~chaos.report.model.Report`.

Each stage reads :class:`~chaos.runner.outcome.RunOutcome`, :class:`~chaos.runner.outcome.RunInputs`
and what earlier stages found; only the last two touch the file system.
"""

from __future__ import annotations

import time

from chaos.faults.effects import EffectResult, UpstreamHit
from chaos.report.cost_model import CostCatalog
from chaos.report.model import (
    FaultReport,
    GatewayInfo,
    Provenance,
    Report,
    ScenarioInfo,
)
from chaos.report.records import AppliedFault
from chaos.report.workflow_model import WorkflowSection
from chaos.runner import analysis
from chaos.runner.artifacts import collect_audit, copy_scenario, write_artifacts
from chaos.runner.attribution import attribute
from chaos.runner.checks import assertion_results, steady_state_results, why_not_run
from chaos.runner.clock import iso_utc
from chaos.runner.cost import (
    CATALOG_PATH,
    CostLedger,
    cost_ledger,
    fault_costs,
    no_cost,
    prices_from_catalog,
    read_usage_logs,
    write_usage_file,
)
from chaos.runner.environment import capture_environment
from chaos.runner.metrics import MetricContext
from chaos.runner.outcome import RunInputs, RunOutcome
from chaos.runner.policy_check import PolicyFindings, check_policy
from chaos.runner.stack import RunStack
from chaos.runner.verdict import VerdictInputs, judge
from chaos.runner.windows import measured, metric_context


async def assemble_report(run: RunOutcome, inputs: RunInputs, stack: RunStack) -> Report:
    """The report of ``run``; writes the artifacts into ``inputs.run_dir`` (not ``report.json``,
    which :func:`chaos.report.model.write_report` writes)."""
    loaded = inputs.loaded
    scenario = loaded.scenario
    records = list(run.records)
    entries = list(run.upstream_entries)

    # 1. governance
    findings = await check_policy(scenario, loaded.resolve(scenario.policy.bundle),
                                  engine=inputs.policy_engine, entries=entries, records=records,
                                  client_texts=run.client_texts)
    broken = run.broken or findings.error

    # 2. attribution
    attribution = attribute(records, entries, {u.model: u.name for u in scenario.upstreams})
    ctx = metric_context(records, phases=run.phases, applied=run.applied(), now_s=run.now_s,
                         measured_from_s=run.measured_from_s, upstreams=scenario.upstreams,
                         violations=findings.violation_count, attribution=attribution,
                         workflows=run.workflows,
                         data_flow_violations=findings.data_flow.violations
                         if findings.data_flow else None)

    # 3. checks
    ended_early = broken is None and (run.stop is not None or run.deviated_before)
    why = why_not_run(run.stop)
    steady = steady_state_results(scenario.steady_state.probes, ctx, ended_early=ended_early,
                                  why=why)
    assertions = assertion_results(scenario.assertions, ctx, ended_early=ended_early, why=why)

    # 4. faults
    hits = analysis.upstream_hits(entries, run.wall0, {r.request_id for r in records})
    faults = fault_results(run, inputs, ctx, hits)
    cost = run_cost(run, inputs, stack, findings, ctx)
    faults = fault_costs(faults, cost, ctx.records, {
        f.name: w for f in faults if (w := analysis.effect_windows(f, ctx.records)) is not None})

    # 5. verdict
    exited = stack.gateway_exit
    audit = collect_audit(stack.audit_path, inputs.run_dir)
    judgement = judge(VerdictInputs(
        audit=audit, broken=broken, deviated_before=run.deviated_before, stop=run.stop,
        steady_after=steady.after, assertions=assertions, faults=faults,
        gateway_exit=exited.describe("during the run") if exited is not None else None,
        teardown_problems=run.teardown_problems,
    ))

    # 6. artifacts (a scenario that cannot be copied is left out of the files; the verdict's
    # reasons are final by now, so it is not one of them)
    scenario_file, _ = copy_scenario(loaded, inputs.run_dir)
    files = write_artifacts(inputs.run_dir, records, entries, stack.config_text)

    # 7. report
    ended = time.time()
    return Report(
        run_id=run.run_id,
        scenario=ScenarioInfo(
            name=scenario.name, sha256=loaded.sha256, path=str(loaded.path),
            description=scenario.description.strip(), proves=scenario.proves.strip(),
            file=scenario_file,
        ),
        policy=findings.policy,
        gateway=GatewayInfo(
            kind=scenario.target.kind,
            version=_dist_version() if scenario.target.kind == "reference" else None,
            config_sha256=stack.config_sha256,
            base_url=stack.base_url or None,
            log_file=str(stack.gateway_log) if stack.gateway_log else None,
            exit_code=exited.returncode if exited else None,
            log_tail=exited.log_tail if exited else None,
        ),
        seed=scenario.seed,
        environment=capture_environment(toxiproxy_url=inputs.toxiproxy_url,
                                        fault_proxy_seed=stack.fault_proxy_seed),
        started_at=run.started_at,
        ended_at=iso_utc(ended),
        duration_s=round(ended - run.wall0, 3),
        phases=run.phases,
        faults=faults,
        metrics=analysis.run_metrics(measured(records, run.measured_from_s), findings.by_model,
                                     ctx, {u.name: u.model for u in scenario.upstreams}
                                     ).model_copy(update={"cost": cost.metrics}),
        steady_state=steady,
        assertions=assertions,
        policy_violations=findings.violations,
        stop_conditions=run.stop_results,
        stopped_early=run.stop,
        verdict=judgement.verdict,
        verdict_reasons=judgement.reasons,
        audit=audit,
        events=run.events,
        upstreams=findings.upstreams,
        data_class_matrix=findings.matrix,
        workflows=workflow_report(ctx, inputs, findings),
        provenance=provenance(inputs),
        files=files,
        partial=broken is not None or run.stop is not None or run.deviated_before,
    )


def run_cost(run: RunOutcome, inputs: RunInputs, stack: RunStack, findings: PolicyFindings,
             ctx: MetricContext) -> CostLedger:
    """What the measured requests cost; writes ``upstream-usage.jsonl`` into the run directory
    (before :func:`write_artifacts` lists its files)."""
    scenario = inputs.loaded.scenario
    logs = read_usage_logs(stack.work_dir / "upstream-logs", [u.name for u in scenario.upstreams])
    usage_file = write_usage_file(inputs.run_dir, logs)
    if findings.error is not None:
        return no_cost(len(ctx.records), f"no catalog prices: {findings.error}")
    prices = prices_from_catalog(findings.catalog)
    served = {u.model for u in scenario.upstreams}
    catalog = CostCatalog(source=f"{scenario.policy.bundle}: {CATALOG_PATH}",
                          policy_sha256=findings.policy.sha256,
                          usd_per_1k_tokens={m: p for m, p in sorted(prices.items()) if m in served})
    return cost_ledger(ctx.records, {r.request_id for r in run.records}, run.upstream_entries,
                       logs, prices, catalog=catalog, usage_file=usage_file)


def workflow_report(ctx: MetricContext, inputs: RunInputs,
                    findings: PolicyFindings) -> WorkflowSection | None:
    """The report's workflow section (None for request load)."""
    workflows = inputs.loaded.scenario.load.workflows
    if not workflows:
        return None
    from chaos.runner.workflow_report import workflow_section

    return workflow_section(ctx.workflows, [(w.name, [s.id for s in w.steps]) for w in workflows],
                            ctx.faults, findings.data_flow)


def fault_results(
    run: RunOutcome, inputs: RunInputs, ctx: MetricContext, hits: dict[str, list[UpstreamHit]],
) -> tuple[FaultReport, ...]:
    """Every fault of the scenario as applied (``not_reached`` when the fault phase never
    began), with what traffic looked like while it was in force and its effect's verdict."""
    if run.timeline is None:
        applied = [AppliedFault(name=f.name or f.kind, kind=f.kind, target=f.target,
                                params=dict(f.params), planned_at_s=f.at_s,
                                planned_duration_s=f.duration_s, status="not_reached")
                   for f in inputs.loaded.scenario.named_faults()]
        return analysis.fault_reports(applied, ctx, hits, {})
    return analysis.fault_reports(run.timeline.applied(), ctx, hits,
                                  effect_verdicts(run, inputs, hits))


def effect_verdicts(
    run: RunOutcome, inputs: RunInputs, hits: dict[str, list[UpstreamHit]],
) -> dict[str, EffectResult]:
    """Each applied fault's declared effect, judged from the ground truth gathered."""
    if run.timeline is None:
        return {}
    scenario = inputs.loaded.scenario
    specs = {f.name or f.kind: f for f in scenario.named_faults()}
    verdicts: dict[str, EffectResult] = {}
    for fault in run.timeline.applied():
        if fault.applied_at_s is None:
            continue
        live = run.timeline.evidence(fault.name)
        effect = live.effect
        if effect is None:  # applied without the timeline's evidence (never in practice)
            spec = specs[fault.name]
            kind = inputs.registry.get(spec.kind)
            effect = kind.effect(spec, inputs.registry.parse_params(spec),
                                 scenario.upstream(spec.target))
        verdicts[fault.name] = analysis.verify_effect(
            fault, effect, live, hits.get(fault.target, ()), run.now_s)
    return verdicts


def provenance(inputs: RunInputs) -> Provenance:
    """Where the policy bundle and the scenario came from (git), and the CI run."""
    from chaos.runner.provenance import git_info

    loaded = inputs.loaded
    return Provenance(
        policy_bundle=git_info(loaded.resolve(loaded.scenario.policy.bundle)),
        scenario=git_info(loaded.path),
        ci=inputs.ci,
    )


def _dist_version() -> str:
    from chaos.runner.environment import _dist_version as version

    return version()
