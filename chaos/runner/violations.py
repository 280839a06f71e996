"""Policy violations from ground truth: what each simulated upstream actually received.

For every entry in the upstreams' own request logs the runner finds the request it sent (by
``X-Govchaos-Request-Id``, or the body ``user`` = ``govchaos:<id>``), recomputes the policy
decision for that request with every upstream model as a healthy candidate, and counts the entry
as a violation when the model that served it is not in ``allowed``. An entry that matches no
request the harness sent is unattributable traffic and also counts: the harness cannot prove it
was allowed, so it fails closed.

>>> # see tests/unit/chaos/runner/test_violations.py for worked examples
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from chaos.runner.records import RequestRecord
from chaos.scenario.model import UpstreamSpec
from governance.decision import Candidate, Decision, DecisionInput

USER_PREFIX = "govchaos:"

Decide = Callable[[DecisionInput], Decision | Awaitable[Decision]]


class UpstreamLogEntry(Protocol):
    """The fields of a simulated upstream's request-log entry this module reads."""

    upstream: str
    served_model: str
    request_id: str | None
    user: str | None


class Violation(BaseModel):
    """One request that reached a model the policy did not allow for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream: str
    model: str
    request_id: str | None
    reason: str  # "model not allowed" | "unattributable request"
    route: str | None = None
    tenant: str | None = None
    data_classes: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


class ViolationSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    checked: int  # upstream log entries examined
    count: int
    violations: tuple[Violation, ...] = ()
    by_model: dict[str, int] = {}  # upstream requests per served model (traffic ground truth)


def candidates_for(
    upstreams: Iterable[UpstreamSpec], catalog: Mapping[str, Any] | None = None
) -> tuple[Candidate, ...]:
    """Every upstream's model as a healthy candidate (what failover could ever pick).

    Attributes come from the policy's own model catalog when it lists the model (the policy
    denies candidates whose claimed attributes disagree with its catalog); otherwise from the
    scenario's upstream declaration.
    """
    seen: dict[str, Candidate] = {}
    for spec in upstreams:
        if spec.model in seen:
            continue
        entry = (catalog or {}).get(spec.model)
        if isinstance(entry, Mapping):
            seen[spec.model] = Candidate(
                id=spec.model,
                provider=str(entry.get("provider", spec.provider)),
                hosting=entry.get("hosting", spec.hosting),
                region=str(entry.get("region", spec.region)),
                version=str(entry.get("version", "")),
                cost_per_1k_tokens=float(entry.get("cost_per_1k_tokens", 0.0)),
                tags=tuple(str(t) for t in entry.get("tags", ())),
            )
        else:
            seen[spec.model] = Candidate(
                id=spec.model, provider=spec.provider, hosting=spec.hosting, region=spec.region
            )
    return tuple(seen.values())


def catalog_models(policy_data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data.govchaos.catalog.models`` of a policy bundle, or {} when absent."""
    node: Any = policy_data
    for key in ("govchaos", "catalog", "models"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def attributed_id(entry: UpstreamLogEntry) -> str | None:
    """The harness request id an upstream log entry belongs to, if any."""
    if entry.request_id:
        return entry.request_id
    if entry.user and entry.user.startswith(USER_PREFIX):
        return entry.user[len(USER_PREFIX) :]
    return None


async def count_violations(
    entries: Iterable[UpstreamLogEntry],
    records: Mapping[str, RequestRecord],
    candidates: tuple[Candidate, ...],
    decide: Decide,
    *,
    max_tokens: int | None = None,
    keep: int = 50,
) -> ViolationSummary:
    """Count upstream requests that reached a model outside their request's ``allowed`` set.

    ``records`` maps request id → the request the harness sent. ``decide`` may be sync or
    async; decisions are cached per distinct request shape. Keeps the first ``keep``
    violations as examples. Never raises for a bad entry: it becomes a violation.
    """
    cache: dict[tuple[object, ...], Decision] = {}
    examples: list[Violation] = []
    count = 0
    checked = 0
    by_model: dict[str, int] = {}
    for entry in entries:
        checked += 1
        by_model[entry.served_model] = by_model.get(entry.served_model, 0) + 1
        request_id = attributed_id(entry)
        record = records.get(request_id) if request_id else None
        if record is None:
            count += 1
            if len(examples) < keep:
                examples.append(
                    Violation(
                        upstream=entry.upstream,
                        model=entry.served_model,
                        request_id=request_id,
                        reason="unattributable request",
                    )
                )
            continue
        key = (record.route, record.tenant, record.data_classes, record.region, record.stream)
        decision = cache.get(key)
        if decision is None:
            decision = await _decide(
                decide,
                DecisionInput(
                    route=record.route,
                    tenant=record.tenant,
                    data_classes=record.data_classes,
                    region=record.region,
                    candidates=candidates,
                    max_tokens=max_tokens,
                    stream=record.stream,
                ),
            )
            cache[key] = decision
        if not decision.allow or entry.served_model not in decision.allowed:
            count += 1
            if len(examples) < keep:
                examples.append(
                    Violation(
                        upstream=entry.upstream,
                        model=entry.served_model,
                        request_id=request_id,
                        reason="model not allowed",
                        route=record.route,
                        tenant=record.tenant,
                        data_classes=record.data_classes,
                        allowed=decision.allowed,
                    )
                )
    return ViolationSummary(
        checked=checked, count=count, violations=tuple(examples), by_model=by_model
    )


async def _decide(decide: Decide, inp: DecisionInput) -> Decision:
    result = decide(inp)
    if inspect.isawaitable(result):
        result = await result
    return result  # type: ignore[return-value]
