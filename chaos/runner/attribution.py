"""Who served each request, from ground truth: the upstreams' own request logs.

Every prompt the load generator sends carries its request id as a content marker
(:mod:`chaos.markers`); every simulated upstream logs the ids it found in each body it received
and what it answered (``outcome``). So for every request the harness knows which upstreams it
reached, in order, and which of them answered in a way that can have produced a success
(``ok``, or a fault that still answers 200: ``slow_stream``, ``schema_violation``,
``empty_content``). That — not the gateway's ``X-Govchaos-Served-By`` / ``X-Govchaos-Upstream``
headers — is what served-by, failovers, ``failover_time_ms`` and ``recovery_time_s`` are computed
from, for the reference gateway and external ones alike. The headers, when present, are
cross-checked: a success the headers attribute to an upstream that never answered it is a
*mismatch*, reported in ``report.json`` (``metrics.attribution``).

Several answering upstreams (a hedge, or a retry after an answer was cut off): the one the
gateway names, if it is among them, else the last to receive the request (counted as
ambiguous). A success no upstream answered is *unattributed* (it has no served-by). For a
success, ``reached`` ends at the answer that served it: a request that reached another upstream
only afterwards (a shadow mirror, a hedge that lost late) did not fail over.

>>> from types import SimpleNamespace as E
>>> from chaos.report.records import RequestRecord
>>> r = RequestRecord(request_id="r1", sent_at_s=0, ended_at_s=0.1, route="x", tenant="t",
...                   status=200, upstream="a")
>>> entries = [E(govchaos_request_id="r1", upstream="b", served_model="m-b", outcome="error_500",
...              path="/v1/chat/completions", received_mono=1.0),
...            E(govchaos_request_id="r1", upstream="c", served_model="m-c", outcome="ok",
...              path="/v1/chat/completions", received_mono=1.1)]
>>> a = attribute([r], entries)
>>> a.served["r1"], a.reached["r1"], a.summary.mismatches
('c', ('b', 'c'), 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.report.records import AttributionMismatch, AttributionSummary, RequestRecord

CHAT_PATH = "/v1/chat/completions"
# Outcomes after which the client can still have received a successful answer.
ANSWERING = frozenset({"ok", "slow_stream", "schema_violation", "empty_content"})
EXAMPLES = 10


@dataclass(frozen=True, slots=True)
class Attribution:
    served: Mapping[str, str] = field(default_factory=dict)  # request id -> upstream
    # distinct, in order; for a success, up to the answer that served it
    reached: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    summary: AttributionSummary = AttributionSummary()


def attribute(
    records: Sequence[RequestRecord],
    entries: Iterable[Any],
    model_to_upstream: Mapping[str, str] | None = None,
) -> Attribution:
    """Attribute every request in ``records`` from upstream log ``entries`` (pure)."""
    by_request: dict[str, list[Any]] = {}
    for entry in entries:
        if getattr(entry, "path", CHAT_PATH) != CHAT_PATH:
            continue
        request_id = entry.govchaos_request_id
        if request_id:
            by_request.setdefault(request_id, []).append(entry)
    for group in by_request.values():
        group.sort(key=lambda e: e.received_mono)
    upstream_of_model = dict(model_to_upstream or {})
    served: dict[str, str] = {}
    reached: dict[str, tuple[str, ...]] = {}
    successes = attributed = unattributed = ambiguous = checked = mismatches = 0
    examples: list[AttributionMismatch] = []
    for record in records:
        group = by_request.get(record.request_id, [])
        order: list[str] = []
        for entry in group:
            if entry.upstream not in order:
                order.append(entry.upstream)
        if order:
            reached[record.request_id] = tuple(order)
        if not record.ok:
            continue
        successes += 1
        answering = [e for e in group if e.outcome in ANSWERING]
        claimed = record.upstream or (
            upstream_of_model.get(record.served_by) if record.served_by else None)
        names = {e.upstream for e in answering}
        if not answering:
            choice = None
        elif claimed in names:
            choice = claimed
            ambiguous += len(names) > 1
        else:
            choice = answering[-1].upstream
            ambiguous += len(names) > 1
        if choice is None:
            unattributed += 1
        else:
            attributed += 1
            served[record.request_id] = choice
            # what reached an upstream after the answer that served (a mirrored shadow
            # request, a hedge that lost late) is no failover: cut ``reached`` there
            last = max(i for i, e in enumerate(group)
                       if e.upstream == choice and e.outcome in ANSWERING)
            before: list[str] = []
            for entry in group[:last + 1]:
                if entry.upstream not in before:
                    before.append(entry.upstream)
            reached[record.request_id] = tuple(before)
        if record.upstream or record.served_by:
            checked += 1
            if claimed != choice:
                mismatches += 1
                if len(examples) < EXAMPLES:
                    examples.append(AttributionMismatch(
                        request_id=record.request_id,
                        gateway_says=record.upstream or record.served_by or "",
                        upstream_logs=choice))
    return Attribution(
        served=served,
        reached=reached,
        summary=AttributionSummary(
            successes=successes, attributed=attributed, unattributed=unattributed,
            ambiguous=ambiguous, header_checked=checked, mismatches=mismatches,
            examples=tuple(examples)),
    )
