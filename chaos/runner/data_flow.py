"""Data-flow violations across workflow steps, from ground truth: what each upstream received.

Per-request policy checks what a request *declares*. An agent workflow can launder data: a
step reasons over PII on a private model, the next step is built from that answer but declares
itself ``internal``, and the gateway — seeing ``internal`` — sends it to a cloud model. Every
hop looks legal; the data went where it must not.

The simulated upstreams make this visible: an answer carries a ``[govchaos-from:<id>]`` marker
for every request whose data reached the model (:func:`chaos.markers.carry`), a step built from
it without ``transform: redact`` forwards them, and the upstream logs the carried ids it
received (``content_carried_ids``). For each logged upstream request whose carried requests
declared a data class its own request did not, the runner asks the **same policy** whether the
model that received it may see the receiving request *with the carried classes added*
(:class:`~governance.decision.DecisionInput`, every upstream model a healthy candidate). When
the served model is not in ``allowed``, that upstream request is a data-flow violation, reported
with its path: the carrying steps, the receiving step and the model
(``claims/intake -> claims/reason -> claims/draft -> gpt-4o-cloud-eu``).

A carried id the harness never sent fails closed (a violation, reason ``unknown carried
marker``): the harness cannot prove what it held.

>>> # see tests/unit/chaos/runner/test_data_flow.py for worked examples
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from chaos.report.records import RequestRecord
from chaos.report.workflow_model import DataFlowViolation
from chaos.runner.violations import Decide, UpstreamLogEntry, _decide
from governance.decision import Candidate, Decision, DecisionInput


class DataFlowSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    checked: int  # upstream requests that carried markers of earlier requests
    count: int
    violations: tuple[DataFlowViolation, ...] = ()  # every one (runs are short)
    by_step: dict[str, int] = {}  # receiving "<workflow>/<step>" -> violations


def step_name(record: RequestRecord) -> str:
    """``<workflow>/<step>`` of a workflow request, else its route."""
    if record.workflow and record.step:
        return f"{record.workflow}/{record.step}"
    return record.route


async def count_data_flow_violations(
    entries: Iterable[UpstreamLogEntry],
    records: Mapping[str, RequestRecord],
    candidates: tuple[Candidate, ...],
    decide: Decide,
    *,
    max_tokens: int | None = None,
) -> DataFlowSummary:
    """Check every upstream request that carries earlier requests' markers (module docstring).

    ``records`` maps request id -> the request the harness sent. ``decide`` may be sync or
    async; decisions are cached per request shape. Never raises for a bad entry.
    """
    cache: dict[tuple[object, ...], Decision] = {}
    found: list[DataFlowViolation] = []
    by_step: dict[str, int] = {}
    checked = 0
    for entry in entries:
        carried_ids = tuple(getattr(entry, "content_carried_ids", None) or ())
        if not carried_ids:
            continue
        checked += 1
        own_ids = tuple(getattr(entry, "content_request_ids", None) or ())
        record = records.get(own_ids[0]) if own_ids else None
        unknown = [i for i in carried_ids if i not in records]
        if unknown:
            found.append(_violation(entry, record, reason="unknown carried marker",
                                    path=(unknown[0], entry.served_model)))
            continue
        if record is None:
            continue  # no receiving request: the per-request check counts it (unattributable)
        declared = set(record.data_classes)
        sources = sorted((records[i] for i in carried_ids
                          if set(records[i].data_classes) - declared),
                         key=lambda r: r.sent_at_s)
        if not sources:
            continue
        extra = sorted({c for r in sources for c in r.data_classes} - declared)
        classes = tuple(sorted(declared | set(extra)))
        key = (record.route, record.tenant, classes, record.region, record.stream)
        decision = cache.get(key)
        if decision is None:
            decision = cache[key] = await _decide(decide, DecisionInput(
                route=record.route, tenant=record.tenant, data_classes=classes,
                region=record.region, candidates=candidates, max_tokens=max_tokens,
                stream=record.stream))
        if decision.allow and entry.served_model in decision.allowed:
            continue
        # The whole way the data came: every carried request in send order, not only those
        # that declared the extra classes (a laundering step declares less, yet passes it on).
        chain = sorted((records[i] for i in carried_ids), key=lambda r: r.sent_at_s)
        path = tuple(dict.fromkeys(step_name(r) for r in chain)) + (
            step_name(record), entry.served_model)
        found.append(_violation(entry, record, carried=tuple(extra), path=path,
                                allowed=tuple(decision.allowed)))
    found.sort(key=lambda v: (v.sent_at_s is None, v.sent_at_s or 0.0))
    for v in found:
        name = f"{v.workflow}/{v.step}" if v.workflow and v.step else "(unattributed)"
        by_step[name] = by_step.get(name, 0) + 1
    return DataFlowSummary(checked=checked, count=len(found), violations=tuple(found),
                           by_step=by_step)


def _violation(entry: UpstreamLogEntry, record: RequestRecord | None, **fields: object
               ) -> DataFlowViolation:
    return DataFlowViolation(
        upstream=entry.upstream, model=entry.served_model,
        request_id=record.request_id if record else None,
        sent_at_s=record.sent_at_s if record else None,
        workflow=record.workflow if record else None,
        workflow_id=record.workflow_id if record else None,
        step=record.step if record else None,
        declared=tuple(record.data_classes) if record else (),
        **fields,  # type: ignore[arg-type]
    )
