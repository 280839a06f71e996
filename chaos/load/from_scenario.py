"""A scenario's ``load:`` section as the load generator's :class:`~chaos.load.LoadSpec`.

The scenario says what traffic a run carries in its users' terms (routes, tenants, data classes,
the key each tenant uses, an external gateway's route -> model map); the generator wants a
resolved mix with keys and one duration covering every phase. This is the one place that
translates the first into the second; multi-step workflows (``load.workflows``) get theirs
beside it (:func:`workflow_load_from_scenario`).

>>> from chaos.faults import default_registry
>>> from chaos.scenario.loader import load_scenario
>>> loaded = load_scenario("scenarios/provider-outage.yaml", faults=default_registry())  # doctest: +SKIP
>>> load_spec_for(loaded.scenario).mix[0].route                                      # doctest: +SKIP
'claims-triage'
"""

from __future__ import annotations

from chaos.errors import RunBrokenError
from chaos.load.errors import LoadSpecError
from chaos.load.models import DataClassMix, LoadSpec, RouteMix
from chaos.load.workflow_models import WorkflowLoad
from chaos.scenario.model import ExternalTarget, Scenario


def load_spec_for(scenario: Scenario) -> LoadSpec:
    """The open-loop load ``scenario`` runs, from the first steady-state window to the last.

    Raises RunBrokenError when a load route's tenant has no key (neither in ``keys`` nor an
    external target's single ``api_key``).
    """
    keys = {k.tenant: k.key for k in scenario.keys}
    target = scenario.target
    route_models = target.route_models if isinstance(target, ExternalTarget) else {}
    if isinstance(target, ExternalTarget) and target.api_key is not None:
        keys = {entry.tenant: target.api_key for entry in scenario.load.routes}
    mix = []
    for entry in scenario.load.routes:
        if entry.tenant not in keys:
            raise RunBrokenError(f"load.routes: no key declared for tenant {entry.tenant!r}")
        mix.append(
            RouteMix(
                route=entry.route,
                weight=entry.weight,
                tenant=entry.tenant,
                api_key=keys[entry.tenant],
                data_classes=(DataClassMix(classes=entry.data_classes),)
                if entry.data_classes
                else (DataClassMix(classes=("public",)),),
                region=entry.region,
                model=entry.model or route_models.get(entry.route),
                max_tokens=scenario.load.max_tokens,
            )
        )
    load = scenario.load
    return LoadSpec(
        rate_rps=load.rate_rps,
        duration_s=scenario.planned_duration_s(),
        arrival="poisson" if load.arrival == "poisson" else "constant",
        seed=scenario.seed,
        mix=tuple(mix),
        stream_share=load.stream_share,
        request_timeout_s=load.request_timeout_s,
    )


def client_texts(spec: LoadSpec) -> tuple[str, ...]:
    """The prompt texts ``spec`` sends (markers aside): upstream log entries carrying one of
    them are client traffic, never a health probe (:mod:`chaos.runner.violations`)."""
    return tuple(sorted({m.prompt for m in spec.mix}))


def workflow_load_from_scenario(scenario: Scenario, *, duration_s: float) -> WorkflowLoad:
    """The :class:`WorkflowLoad` of a scenario's ``load.workflows`` (keys from ``keys``, or the
    external target's single ``api_key``; body models from its ``route_models``), arriving for
    ``duration_s``.

    Raises:
        LoadSpecError: a workflow's tenant has no key.
    """
    load = scenario.load
    target = scenario.target
    keys = {k.tenant: k.key for k in scenario.keys}
    if isinstance(target, ExternalTarget) and target.api_key is not None:
        keys = {w.tenant: target.api_key for w in load.workflows}
    for i, workflow in enumerate(load.workflows):
        if workflow.tenant not in keys:
            raise LoadSpecError(
                f"load.workflows.{i}.tenant: no key declared for tenant {workflow.tenant!r}")
    return WorkflowLoad(
        workflows=load.workflows,
        api_keys={w.tenant: keys[w.tenant] for w in load.workflows},
        duration_s=duration_s,
        arrival="poisson" if load.arrival == "poisson" else "constant",
        seed=scenario.seed,
        max_tokens=load.max_tokens,
        route_models=dict(target.route_models) if isinstance(target, ExternalTarget) else {},
        request_timeout_s=load.request_timeout_s,
    )
