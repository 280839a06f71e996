"""What a run cost, from ground truth: the upstreams' usage logs × the catalog's prices.

Every simulated upstream keeps a usage log (``usage/<name>.jsonl`` beside its request log,
:func:`chaos.providers.request_log.usage_log_path`): one entry per answer that carried content,
with the tokens it really consumed. Each entry is priced at the model's ``cost_per_1k_tokens``
from ``data.govchaos.catalog.models`` of the policy bundle the run used (a blended price, as the
gateway applies it) and charged to the client request it answered (its harness request id),
wherever the gateway sent it: failed-over attempts, hedges and retries cost money too.

- An answer the request log shows as served (an answering outcome,
  :data:`chaos.runner.attribution.ANSWERING`) with no usage entry — the upstream was killed
  mid-answer, or kept no usage log — is **estimated**: the mean prompt and completion tokens of
  that model's reported answers in this run (of all models' when it has none), counted apart.
- Answers no client request is linked to (probes) are ``unattributed``; answers to warm-up
  requests count nowhere, like every other warm-up figure.
- No usage logs, no measured requests, or a served model the catalog has no price for: the
  figure is ``None`` with a ``reason`` (an unknown cost is never $0).

>>> prices_from_catalog({"m": {"cost_per_1k_tokens": 0.002}, "n": {}, "b": {"cost_per_1k_tokens": True}})
{'m': 0.002}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chaos.providers.errors import ProviderError
from chaos.providers.models import UsageEntry
from chaos.providers.request_log import read_usage_log, usage_log_path
from chaos.report.cost_model import (
    CostCatalog,
    CostMetrics,
    CostPoint,
    EstimatedUsage,
    FaultCost,
    ModelCost,
    UnattributedUsage,
)
from chaos.report.model import FaultReport
from chaos.report.records import RequestRecord
from chaos.runner.attribution import ANSWERING, CHAT_PATH
from chaos.runner.metrics import Window

USAGE_FILE = "upstream-usage.jsonl"
CATALOG_PATH = "data.govchaos.catalog.models[*].cost_per_1k_tokens"
_USD_DIGITS = 9  # nano-dollars, as the gateway's audit records keep cost_usd
_PER_1K_DIGITS = 6


@dataclass(frozen=True, slots=True)
class UsageLogs:
    """The upstreams' usage entries, or why there are none."""

    entries: tuple[UsageEntry, ...] = ()
    found: tuple[str, ...] = ()  # upstreams whose usage log exists
    problem: str | None = None  # no data: why (no logs at all, an unreadable log)


@dataclass(frozen=True, slots=True)
class Answer:
    """One upstream answer that generated tokens."""

    upstream: str
    model: str
    request_id: str | None
    prompt_tokens: int
    completion_tokens: int
    estimated: bool


@dataclass(frozen=True, slots=True)
class CostLedger:
    """:class:`CostMetrics` and what per-window figures are computed from."""

    metrics: CostMetrics
    per_request: Mapping[str, float] = field(default_factory=dict)  # measured id -> usd
    unknown: str | None = None  # set: no per-window figure is a fact (the reason)

    def window(self, records: Sequence[RequestRecord], window: Window
               ) -> tuple[int, float | None, float | None, str | None]:
        """(requests, usd, usd per 1k requests, reason) of the requests sent in ``window``."""
        sent = [r for r in records if window.contains(r.sent_at_s)]
        if self.unknown is not None:
            return len(sent), None, None, self.unknown
        if not sent:
            return 0, None, None, "no requests in the window"
        usd = sum(self.per_request.get(r.request_id, 0.0) for r in sent)
        return len(sent), _usd(usd), _per_1k(usd, len(sent)), None


def prices_from_catalog(models: Mapping[str, Any]) -> dict[str, float]:
    """``model id -> cost_per_1k_tokens`` of a catalog's models (numbers >= 0 only)."""
    prices = {}
    for model, entry in models.items():
        price = entry.get("cost_per_1k_tokens") if isinstance(entry, Mapping) else None
        if isinstance(price, (int, float)) and not isinstance(price, bool) and price >= 0:
            prices[str(model)] = float(price)
    return prices


def read_usage_logs(log_dir: Path, upstreams: Iterable[str]) -> UsageLogs:
    """The usage logs of ``upstreams`` whose request logs are ``log_dir/<name>.jsonl``.

    Never raises: an unreadable or invalid log is :attr:`UsageLogs.problem` (naming the file
    and line), and no log at all is a problem too (no data).
    """
    entries: list[UsageEntry] = []
    found = []
    for name in upstreams:
        path = usage_log_path(log_dir / f"{name}.jsonl")
        if not path.is_file():
            continue
        try:
            entries.extend(read_usage_log(path))
        except ProviderError as exc:
            first = exc.diagnostics().splitlines()[0]  # file:line: the first validation error
            return UsageLogs(problem=f"unreadable upstream usage log: {first}")
        found.append(name)
    if not found:
        return UsageLogs(problem=f"no upstream usage logs (looked in {log_dir / 'usage'})")
    entries.sort(key=lambda e: e.received_mono)
    return UsageLogs(entries=tuple(entries), found=tuple(found))


def write_usage_file(run_dir: Path, logs: UsageLogs) -> str | None:
    """Write the merged usage entries to ``run_dir/upstream-usage.jsonl`` (signed with the
    other files, so the cost can be recomputed offline); None when there are no logs."""
    if logs.problem is not None:
        return None
    with open(run_dir / USAGE_FILE, "wb") as out:
        for entry in logs.entries:
            out.write(orjson.dumps(entry.model_dump(mode="json")) + b"\n")
    return USAGE_FILE


def answers(entries: Iterable[Any], logs: UsageLogs) -> tuple[list[Answer], int]:
    """Every upstream answer that generated tokens: the usage entries, plus an estimate for
    each answering request-log entry (``entries``) that has no usage entry; and how many such
    entries could not be estimated (no answer of the run reported its tokens)."""
    reported = [Answer(u.upstream, u.served_model, u.request_id, u.prompt_tokens,
                       u.completion_tokens, False) for u in logs.entries]
    logged = {(u.upstream, u.received_mono) for u in logs.entries}
    missing = [e for e in entries
               if getattr(e, "path", CHAT_PATH) == CHAT_PATH and e.outcome in ANSWERING
               and (e.upstream, e.received_mono) not in logged]
    if not missing:
        return reported, 0
    by_model: dict[str, list[Answer]] = defaultdict(list)
    for answer in reported:
        by_model[answer.model].append(answer)
    if not reported:
        return [], len(missing)
    estimated = []
    for entry in missing:
        sample = by_model.get(entry.served_model) or reported
        prompt = round(sum(a.prompt_tokens for a in sample) / len(sample))
        completion = round(sum(a.completion_tokens for a in sample) / len(sample))
        estimated.append(Answer(entry.upstream, entry.served_model, entry.govchaos_request_id,
                                prompt, completion, True))
    return reported + estimated, 0


def cost_ledger(
    measured: Sequence[RequestRecord],
    all_ids: Collection[str],
    entries: Iterable[Any],
    logs: UsageLogs,
    prices: Mapping[str, float],
    *,
    catalog: CostCatalog | None,
    usage_file: str | None = None,
) -> CostLedger:
    """The cost of the ``measured`` requests (``all_ids``: every request id of the run, the
    warm-up's included), from the request-log ``entries`` and the usage ``logs`` (pure)."""
    if logs.problem is not None:
        return _no_data(len(measured), logs.problem, catalog)
    if not measured:
        return _no_data(0, "no requests in the measured phases", catalog, usage_file)
    entries = list(entries)
    measured_ids = {r.request_id for r in measured}
    found, unestimated = answers(entries, logs)
    if unestimated:
        return _no_data(len(measured), f"{unestimated} upstream answers and no usage reported "
                        "to estimate their tokens from", catalog, usage_file)

    models: dict[str, list[Answer]] = defaultdict(list)
    per_request: dict[str, float] = defaultdict(float)
    unattributed: list[Answer] = []
    for answer in found:
        if answer.request_id in measured_ids:
            models[answer.model].append(answer)
        elif answer.request_id not in all_ids:
            unattributed.append(answer)
    unpriced = sorted(m for m in models if m not in prices)
    for model, group in models.items():
        if model in prices:
            for answer in group:
                per_request[answer.request_id] += _price(answer, prices[model])  # type: ignore[index]

    by_model = {model: _model_cost(group, prices.get(model)) for model, group in sorted(models.items())}
    estimated = [a for group in models.values() for a in group if a.estimated]
    reason = None
    if unpriced:
        reason = ("no catalog price (cost_per_1k_tokens) for " + ", ".join(unpriced)
                  + ": the total would be an undercount")
    total = None if reason else sum(per_request.values())
    return CostLedger(
        metrics=CostMetrics(
            usd_total=_usd(total), usd_per_1k_requests=_per_1k(total, len(measured)),
            requests=len(measured), by_model=by_model,
            estimated=EstimatedUsage(
                requests=len(estimated),
                prompt_tokens=sum(a.prompt_tokens for a in estimated),
                completion_tokens=sum(a.completion_tokens for a in estimated),
                usd=_usd(_sum_price(estimated, prices))),
            unattributed=UnattributedUsage(
                requests=len(unattributed),
                prompt_tokens=sum(a.prompt_tokens for a in unattributed),
                completion_tokens=sum(a.completion_tokens for a in unattributed),
                usd=_usd(_sum_price(unattributed, prices))),
            usage_file=usage_file, catalog=catalog,
            timeseries=_timeseries(measured, per_request, known=reason is None),
            reason=reason,
        ),
        per_request=dict(per_request),
        unknown=reason,
    )


def fault_costs(faults: Sequence[FaultReport], ledger: CostLedger,
                records: Sequence[RequestRecord],
                windows: Mapping[str, tuple[Window, Window]]) -> tuple[FaultReport, ...]:
    """``faults`` with their ``cost``: per 1k requests over ``windows[name]`` (before, during)
    — the windows their effect was measured over. A fault never applied has no cost."""
    out = []
    for fault in faults:
        spans = windows.get(fault.name)
        if spans is None:
            out.append(fault)
            continue
        n_before, usd_before, per_before, why_before = ledger.window(records, spans[0])
        n_during, usd_during, per_during, why_during = ledger.window(records, spans[1])
        reasons = [f"{label}: {why}" for label, why in (("before", why_before),
                                                         ("during", why_during)) if why]
        if ledger.unknown is not None:
            reasons = [ledger.unknown]
        out.append(fault.model_copy(update={"cost": FaultCost(
            requests_before=n_before, usd_before=usd_before,
            usd_per_1k_requests_before=per_before,
            requests_during=n_during, usd_during=usd_during,
            usd_per_1k_requests_during=per_during,
            reason="; ".join(reasons) or None,
        )}))
    return tuple(out)


def no_cost(requests: int, reason: str) -> CostLedger:
    """The ledger of a run whose cost cannot be established, and why."""
    return _no_data(requests, reason, None)


def _no_data(requests: int, reason: str, catalog: CostCatalog | None,
             usage_file: str | None = None) -> CostLedger:
    return CostLedger(metrics=CostMetrics(requests=requests, catalog=catalog,
                                          usage_file=usage_file, reason=reason), unknown=reason)


def _model_cost(group: Sequence[Answer], price: float | None) -> ModelCost:
    est = [a for a in group if a.estimated]
    return ModelCost(
        requests=len(group),
        prompt_tokens=sum(a.prompt_tokens for a in group),
        completion_tokens=sum(a.completion_tokens for a in group),
        estimated_requests=len(est),
        estimated_prompt_tokens=sum(a.prompt_tokens for a in est),
        estimated_completion_tokens=sum(a.completion_tokens for a in est),
        usd_per_1k_tokens=price,
        usd=None if price is None else _usd(sum(_price(a, price) for a in group)),
    )


def _timeseries(measured: Sequence[RequestRecord], per_request: Mapping[str, float], *,
                known: bool) -> tuple[CostPoint, ...]:
    buckets: dict[int, list[RequestRecord]] = defaultdict(list)
    for record in measured:
        buckets[int(record.sent_at_s)].append(record)
    points = []
    for second in sorted(buckets):
        group = buckets[second]
        usd = sum(per_request.get(r.request_id, 0.0) for r in group) if known else None
        points.append(CostPoint(t_s=second, requests=len(group), usd=_usd(usd),
                                usd_per_1k_requests=_per_1k(usd, len(group))))
    return tuple(points)


def _price(answer: Answer, price: float) -> float:
    return (answer.prompt_tokens + answer.completion_tokens) / 1000.0 * price


def _sum_price(group: Sequence[Answer], prices: Mapping[str, float]) -> float | None:
    if any(a.model not in prices for a in group):
        return None
    return sum(_price(a, prices[a.model]) for a in group)


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, _USD_DIGITS)


def _per_1k(usd: float | None, requests: int) -> float | None:
    if usd is None or requests <= 0:
        return None
    return round(usd / requests * 1000.0, _PER_1K_DIGITS)
