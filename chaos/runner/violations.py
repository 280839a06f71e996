"""Policy violations from ground truth: what each simulated upstream actually received.

Every entry in the upstreams' own request logs is attributed to the request the harness sent,
strongest evidence first:

1. **content markers** — the load generator puts ``[govchaos-request-id:<id>]`` in each prompt
   (:mod:`chaos.markers`) and the upstream records every marked id found in the body it
   received. This survives gateways that drop headers and ``user``, and it cannot be faked away
   by a label: a request carrying a client's prompt carries that client's marker.
2. the ``X-Govchaos-Request-Id`` header, 3. the body's ``user`` (``govchaos:<id>``).

For an attributed entry the runner recomputes the policy decision for that request with every
upstream model as a healthy candidate, and counts a violation when the model that served it is
not in ``allowed``. Violations are also counted for an entry whose content carries a marker of a
request the harness never sent, for one carrying markers of several requests whose decisions
differ (one body mixing data of differently governed requests), and for an entry with
client-looking content (the harness's prompt text, marker stripped) that matches no request
(``unattributable``): the harness cannot prove those were allowed, so it fails closed.

An entry that carries no client marker, no client prompt text, and no id of a request the
harness sent is **content-free**: a gateway health probe (the reference gateway marks its own
with ``X-Govchaos-Probe: 1``, but the label is only recorded, never what decides). No client
data reached the model, so no policy decision applies; probes are counted apart, per upstream.

>>> # see tests/unit/chaos/runner/test_violations.py for worked examples
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from chaos.report.records import RequestRecord, Violation
from chaos.scenario.model import UpstreamSpec
from governance.decision import Candidate, Decision, DecisionInput

USER_PREFIX = "govchaos:"

Decide = Callable[[DecisionInput], Decision | Awaitable[Decision]]


class UpstreamLogEntry(Protocol):
    """The fields of a simulated upstream's request-log entry this module reads (also
    ``content_request_ids``, ``content_excerpt`` and ``probe_header`` when present)."""

    upstream: str
    served_model: str
    request_id: str | None
    user: str | None


class ViolationSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    checked: int  # upstream log entries examined
    count: int
    violations: tuple[Violation, ...] = ()
    by_model: dict[str, int] = {}  # upstream requests per served model (traffic ground truth)
    probes: int = 0  # content-free entries (health probes): no client data, no decision
    probes_by_upstream: dict[str, int] = {}
    probes_labelled: int = 0  # of those, how many carried the X-Govchaos-Probe header


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
    client_texts: Iterable[str] = (),
) -> ViolationSummary:
    """Count upstream requests that reached a model outside their request's ``allowed`` set.

    ``records`` maps request id → the request the harness sent. ``client_texts`` are the prompts
    the harness sent (without markers): an unattributed entry whose message text contains one
    is client traffic, not a probe. ``decide`` may be sync or async; decisions are cached per
    distinct request shape. Keeps the first ``keep`` violations as examples. Never raises for
    a bad entry: it becomes a violation.
    """
    cache: dict[tuple[object, ...], Decision] = {}
    texts = tuple(t.strip() for t in client_texts if t.strip())
    examples: list[Violation] = []
    count = 0
    checked = 0
    probes = 0
    probes_labelled = 0
    probes_by_upstream: dict[str, int] = {}
    by_model: dict[str, int] = {}

    async def decision_for(record: RequestRecord) -> Decision:
        key = (record.route, record.tenant, record.data_classes, record.region, record.stream)
        decision = cache.get(key)
        if decision is None:
            decision = cache[key] = await _decide(
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
        return decision

    def violation(entry: UpstreamLogEntry, request_id: str | None, reason: str,
                  record: RequestRecord | None = None, allowed: tuple[str, ...] = ()) -> None:
        nonlocal count
        count += 1
        if len(examples) < keep:
            examples.append(Violation(
                upstream=entry.upstream, model=entry.served_model, request_id=request_id,
                reason=reason, route=record.route if record else None,
                tenant=record.tenant if record else None,
                data_classes=record.data_classes if record else (), allowed=allowed,
            ))

    for entry in entries:
        checked += 1
        by_model[entry.served_model] = by_model.get(entry.served_model, 0) + 1
        marked = tuple(getattr(entry, "content_request_ids", None) or ())
        if marked:
            unknown = [i for i in marked if i not in records]
            if unknown:
                violation(entry, unknown[0], "unknown request marker")
                continue
            decisions = [await decision_for(records[i]) for i in marked]
            if len({(d.allow, frozenset(d.allowed)) for d in decisions}) > 1:
                violation(entry, marked[0], "markers of requests with different decisions",
                          records[marked[0]])
                continue
            request_id, record, decision = marked[0], records[marked[0]], decisions[0]
        else:
            request_id = attributed_id(entry)
            record = records.get(request_id) if request_id else None
            if record is None:
                if _client_looking(entry, texts):
                    violation(entry, request_id, "unattributable request")
                else:
                    probes += 1
                    probes_by_upstream[entry.upstream] = probes_by_upstream.get(entry.upstream, 0) + 1
                    if getattr(entry, "probe_header", None):
                        probes_labelled += 1
                continue
            decision = await decision_for(record)
        if not decision.allow or entry.served_model not in decision.allowed:
            violation(entry, request_id, "model not allowed", record, decision.allowed)
    return ViolationSummary(
        checked=checked, count=count, violations=tuple(examples), by_model=by_model,
        probes=probes, probes_by_upstream=probes_by_upstream, probes_labelled=probes_labelled,
    )


def _client_looking(entry: UpstreamLogEntry, texts: tuple[str, ...]) -> bool:
    """Does the entry's message text carry a harness prompt (its marker stripped)?"""
    excerpt = getattr(entry, "content_excerpt", None)
    if not excerpt:
        return False
    return any(text in excerpt for text in texts)


async def _decide(decide: Decide, inp: DecisionInput) -> Decision:
    result = decide(inp)
    if inspect.isawaitable(result):
        result = await result
    return result  # type: ignore[return-value]
