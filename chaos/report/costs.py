"""The cost section of the HTML and Markdown reports: what the run cost, and the price of
resilience (``metrics.cost`` and ``faults[i].cost``, :mod:`chaos.report.cost_model`).

HTML: cost per 1,000 requests over time with the fault windows shaded (:func:`cost_svg`), the
totals, a table per model, a table per fault (before vs during). Markdown: the same tables.
A figure the report has as null shows as ``n/a`` with the report's reason, never as $0.

>>> usd(0.0036036), usd(None), usd(0.0), usd(12.5)
('$0.0036036', 'n/a', '$0', '$12.50')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chaos.report.chart import PhaseSpan, cost_svg
from chaos.report.cost_model import CostMetrics, FaultCost
from chaos.report.html_markup import kv, table
from chaos.report.model import Report
from chaos.report.view import FaultSpan


def usd(value: float | None) -> str:
    """Dollars for people: cents from $1 up, else up to 8 significant decimals, never 1e-05."""
    if value is None:
        return "n/a"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "$" + text if text not in ("0", "-0") else f"${value:.2g}"


def cost_summary(report: Report) -> str | None:
    """One line for the console (``chaos run``, ``report show``); None for reports written
    before cost accounting.

    >>> from chaos.report.cost_model import CostMetrics
    >>> cost_summary_of(CostMetrics(requests=3, reason="no upstream usage logs"), [])
    'cost: n/a (no upstream usage logs)'
    """
    cost = report.metrics.cost if report.metrics is not None else None
    if cost is None:
        return None
    return cost_summary_of(cost, _faults(report))


def cost_summary_of(cost: CostMetrics, faults: Sequence[tuple[str, FaultCost]]) -> str:
    if cost.usd_total is None:
        return f"cost: n/a ({cost.reason or 'unknown'})"
    line = (f"cost: {usd(cost.usd_total)} for {cost.requests} requests "
            f"({usd(cost.usd_per_1k_requests)} per 1k; upstream usage logs × catalog prices)")
    for name, c in faults:
        line += (f"; {name}: {usd(c.usd_per_1k_requests_before)} per 1k before, "
                 f"{usd(c.usd_per_1k_requests_during)} during")
    return line


def _tokens(prompt: int, completion: int) -> str:
    return f"{prompt:,} + {completion:,}"


def _model_rows(cost: CostMetrics) -> list[list[Any]]:
    rows = []
    for model, c in cost.by_model.items():
        estimated = (f"{c.estimated_requests} ({_tokens(c.estimated_prompt_tokens, c.estimated_completion_tokens)})"
                     if c.estimated_requests else "0")
        rows.append([model, c.requests, _tokens(c.prompt_tokens, c.completion_tokens), estimated,
                     usd(c.usd_per_1k_tokens), usd(c.usd)])
    return rows


_MODEL_HEADERS = ["model", "answers", "tokens (prompt + completion)", "of which estimated",
                  "catalog price per 1k tokens", "cost"]


def _fault_cells(cost: FaultCost) -> list[Any]:
    return [cost.requests_before, usd(cost.usd_per_1k_requests_before), cost.requests_during,
            usd(cost.usd_per_1k_requests_during), _change(cost), cost.reason or ""]


_FAULT_HEADERS = ["fault", "requests before", "per 1k requests before", "requests during",
                  "per 1k requests during", "change", "note"]


def _change(cost: FaultCost) -> str:
    before, during = cost.usd_per_1k_requests_before, cost.usd_per_1k_requests_during
    if before is None or during is None:
        return "n/a"
    if before == 0:
        return "n/a (nothing spent before)" if during else "±0"
    return f"{(during - before) / before * 100:+.0f}%"


def _faults(report: Report) -> list[tuple[str, FaultCost]]:
    return [(f.name, f.cost) for f in report.faults if f.cost is not None]


def _totals(cost: CostMetrics) -> dict[str, str]:
    pairs = {
        "total": usd(cost.usd_total),
        "per 1,000 requests": usd(cost.usd_per_1k_requests),
        "requests (measured phases)": f"{cost.requests:,}",
    }
    if cost.reason:
        pairs["why n/a"] = cost.reason
    e = cost.estimated
    pairs["estimated (no usage reported)"] = (
        f"{e.requests} answers, {_tokens(e.prompt_tokens, e.completion_tokens)} tokens, "
        f"{usd(e.usd)} (included above)" if e.requests else "none")
    u = cost.unattributed
    if u.requests:
        pairs["not linked to a client request"] = (
            f"{u.requests} answers (probes), {_tokens(u.prompt_tokens, u.completion_tokens)} "
            f"tokens, {usd(u.usd)} (not included above)")
    if cost.catalog is not None:
        pairs["prices from"] = (f"{cost.catalog.source} (policy bundle sha256 "
                                f"{cost.catalog.policy_sha256[:16]}…)")
    if cost.usage_file:
        pairs["tokens from"] = f"{cost.usage_file} (the upstreams' own usage logs)"
    return pairs


def cost_html(report: Report, spans: Sequence[FaultSpan], phases: Sequence[PhaseSpan],
              marks: Sequence[Any]) -> str:
    """The section "What it cost" (empty for reports written before cost accounting)."""
    cost = report.metrics.cost if report.metrics is not None else None
    if cost is None:
        return ""
    out = ["<h2>What it cost: tokens the upstreams answered × the catalog's prices</h2>"]
    points = [(p.t_s, p.usd_per_1k_requests, p.requests) for p in cost.timeseries]
    out.append(cost_svg(points, spans, phases, marks, average=cost.usd_per_1k_requests))
    out.append('<div class="muted">Per second by send time: what the upstreams answered to the '
               "requests sent that second (failed-over attempts included) per 1,000 of them.</div>")
    out.append(kv(_totals(cost)))
    out.append("<h3>Cost by model</h3>")
    out.append(table(_MODEL_HEADERS, _model_rows(cost), numeric=(1, 2, 3, 4, 5)))
    faults = _faults(report)
    if faults:
        out.append("<h3>The price of resilience: cost per 1,000 requests before and during each "
                   "fault</h3>")
        out.append(table(_FAULT_HEADERS, [[name, *_fault_cells(c)] for name, c in faults],
                         numeric=(1, 2, 3, 4, 5)))
        out.append('<div class="muted">Before: the same span just before the fault, as for its '
                   "effect; requests by send time.</div>")
    return "".join(out)


def cost_markdown(report: Report, _md: Callable[[Any], str]) -> list[str]:
    """The cost tables of ``report.md`` ([] for reports written before cost accounting);
    ``_md`` escapes text for Markdown (:func:`chaos.report.markdown.md_text`)."""
    cost = report.metrics.cost if report.metrics is not None else None
    if cost is None:
        return []
    lines = [f"**Cost:** {usd(cost.usd_total)} total, {usd(cost.usd_per_1k_requests)} per 1,000 "
             f"requests ({cost.requests} requests; from the upstreams' usage logs × the catalog's "
             "prices)" + (f" — n/a: {_md(cost.reason)}" if cost.reason else "") + ".", ""]
    if cost.estimated.requests:
        lines += [f"_{cost.estimated.requests} answers had no usage reported: their tokens are "
                  f"estimated ({usd(cost.estimated.usd)}, included)._", ""]
    if cost.by_model:
        lines += ["| model | answers | tokens (prompt + completion) | of which estimated | "
                  "price per 1k tokens | cost |", "|---|---|---|---|---|---|"]
        for row in _model_rows(cost):
            lines.append("| " + " | ".join(_md(c) for c in row) + " |")
        lines.append("")
    faults = _faults(report)
    if faults:
        lines += ["| fault | requests before | per 1k before | requests during | per 1k during "
                  "| change | note |", "|---|---|---|---|---|---|---|"]
        for name, c in faults:
            lines.append("| " + " | ".join(_md(x) for x in [name, *_fault_cells(c)]) + " |")
        lines.append("")
    return lines

