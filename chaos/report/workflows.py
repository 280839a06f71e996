"""The workflow section of the HTML and Markdown reports (agent workflows, ``load.workflows``).

HTML: completion rate over time with the fault windows shaded, a Gantt chart of a sample of
workflows (each step a bar; retried steps hatched in amber, fallbacks in blue, failed steps in
red), a table per workflow type and per step, and every data-flow violation with its path
(step -> step -> model). Markdown: the per-type table and the violations. Pure functions of the
report; no scripts, inline SVG only.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from chaos.report.chart import _FAULT_FILL, _nice_max, _shade_faults, _time_axis
from chaos.report.model import Report
from chaos.report.view import FaultSpan
from chaos.report.workflow_model import GanttRow, WorkflowFigures, WorkflowPoint, WorkflowSection

_W, _PAD_L, _PAD_R = 1000, 64, 24
_STEP_COLOUR = {"ok": "#16a34a", "fallback": "#2563eb", "failed": "#dc2626",
                "cancelled": "#94a3b8"}
_RETRIED = "#f59e0b"
VIOLATIONS_SHOWN = 50


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _figure_cells(f: WorkflowFigures) -> list[str]:
    return [str(f.workflows), f"{_pct(f.success_rate)} ({f.succeeded}/{f.workflows})",
            str(f.fallback), str(f.abandoned), _ms(f.latency_p50_ms), _ms(f.latency_p95_ms),
            _ms(f.latency_p99_ms), str(f.steps_retried), str(f.fallbacks)]


_FIGURE_HEADERS = ["workflows", "success", "finished on fallback", "abandoned", "p50 ms",
                   "p95 ms", "p99 ms", "steps retried", "fallback steps"]


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def completion_svg(points: Sequence[WorkflowPoint], spans: Sequence[FaultSpan],
                   t_max: float) -> str:
    """Completion rate (succeeded / ended, by start second) with fault windows shaded."""
    height, top, plot_h = 230, 20, 160
    t_max = max(t_max, 1.0)

    def x(t: float) -> float:
        return _PAD_L + (t / t_max) * (_W - _PAD_L - _PAD_R)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" class="chart" '
             'aria-label="workflow completion rate over time" '
             'style="font:11px sans-serif;width:100%">']
    _shade_faults(parts, x, spans, top, plot_h, label=True)
    for rate in (0.0, 0.5, 0.9, 1.0):
        parts.append(f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y(rate):.1f}" '
                     f'y2="{y(rate):.1f}" stroke="#e2e8f0"/>'
                     f'<text x="{_PAD_L - 6}" y="{y(rate) + 4:.1f}" text-anchor="end">'
                     f'{rate * 100:g}%</text>')
    coords = " ".join(f"{x(p.t_s + 0.5):.1f},{y(p.completion_rate or 0.0):.1f}" for p in points)
    if coords:
        parts.append(f'<polyline fill="none" stroke="#16a34a" stroke-width="1.8" '
                     f'points="{coords}"/>')
    for p in points:
        parts.append(f'<circle cx="{x(p.t_s + 0.5):.1f}" cy="{y(p.completion_rate or 0.0):.1f}"'
                     f' r="2.2" fill="#16a34a"><title>{p.t_s} s: {p.succeeded}/{p.started} '
                     f'succeeded</title></circle>')
    _time_axis(parts, x, t_max, top + plot_h + 16, "seconds since the run started (by start)")
    parts.append("</svg>")
    return "".join(parts)


def gantt_svg(rows: Sequence[GanttRow], spans: Sequence[FaultSpan]) -> str:
    """One line per sampled workflow, one bar per step (colour: outcome; amber edge: retried)."""
    if not rows:
        return ""
    row_h, top, label_w = 14, 18, 150
    height = top + row_h * len(rows) + 40
    t0 = min(r.start_s for r in rows)
    t1 = max(max(r.end_s for r in rows), t0 + 0.001)

    def x(t: float) -> float:
        return label_w + ((t - t0) / (t1 - t0)) * (_W - label_w - _PAD_R)

    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" class="chart" '
             'aria-label="sample of workflows as a Gantt chart" '
             'style="font:10px sans-serif;width:100%">']
    visible = [s for s in spans if s.end_s > t0 and s.start_s < t1]
    clipped = [s.model_copy(update={"start_s": max(s.start_s, t0), "end_s": min(s.end_s, t1)})
               for s in visible]
    _shade_faults(parts, x, clipped, top - 4, row_h * len(rows) + 4, label=False)
    for i, row in enumerate(rows):
        yy = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{yy + 10}" text-anchor="end">'
                     f'{escape(row.workflow_id[-10:])} {escape(row.outcome)}</text>')
        for step in row.steps:
            x0, x1 = x(step.start_s), x(step.end_s)
            colour = _STEP_COLOUR.get(step.outcome, "#64748b")
            stroke = (f' stroke="{_RETRIED}" stroke-width="2"' if step.attempts > 1
                      else ' stroke="#fff" stroke-width="0.5"')
            title = (f"{row.workflow}/{step.step}: {step.outcome}, {step.attempts} "
                     f"tr{'y' if step.attempts == 1 else 'ies'}, "
                     f"{(step.end_s - step.start_s) * 1000:.0f} ms"
                     + (f" (errors: {', '.join(step.errors)})" if step.errors else ""))
            parts.append(f'<rect x="{x0:.1f}" y="{yy + 1}" width="{max(x1 - x0, 1.5):.1f}" '
                         f'height="{row_h - 3}" fill="{colour}"{stroke}>'
                         f'<title>{escape(title)}</title></rect>')
    axis_y = top + row_h * len(rows) + 14
    parts.append(f'<text x="{label_w}" y="{axis_y}">{t0:.2f} s</text>'
                 f'<text x="{_W - _PAD_R}" y="{axis_y}" text-anchor="end">{t1:.2f} s</text>')
    legend = [("ok", "#16a34a"), ("fallback", "#2563eb"), ("failed", "#dc2626"),
              ("retried (edge)", _RETRIED), ("fault window", _FAULT_FILL)]
    lx = label_w
    for name, colour in legend:
        parts.append(f'<rect x="{lx}" y="{axis_y + 8}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{axis_y + 17}">{escape(name)}</text>')
        lx += 110
    parts.append("</svg>")
    return "".join(parts)


def workflows_html(report: Report, spans: Sequence[FaultSpan]) -> str:
    """The section, or "" when the run had no workflow load."""
    w: WorkflowSection | None = report.workflows
    if w is None:
        return ""
    out = ["<h2>Agent workflows</h2>",
           '<p class="muted">A workflow succeeds when every step was answered by a model '
           "(retries allowed); one finished on a step's fallback is counted apart; abandoned: "
           "a step ran out of retries with no fallback. Latency: start to end of each workflow."
           "</p>"]
    out.append(_html_table(["scope"] + _FIGURE_HEADERS,
                           [["whole run"] + _figure_cells(w.overall)]
                           + [[f"during {name}"] + _figure_cells(f)
                              for name, f in w.during_faults.items()]
                           + [[f"type {t.workflow}"] + _figure_cells(t.figures)
                              for t in w.by_type]))
    out.append("<h3>Completion rate over time</h3>")
    out.append(completion_svg(w.timeseries, spans, report.duration_s))
    out.append("<h3>A sample of workflows (troubled ones first)</h3>")
    out.append(gantt_svg(w.sample, spans))
    for t in w.by_type:
        out.append(f"<h3>Steps of {escape(t.workflow)}</h3>")
        out.append(_html_table(
            ["step", "runs", "ok", "retried", "fallback", "failed", "data-flow violations"],
            [[s.step, str(s.runs), str(s.ok), str(s.retried), str(s.fallback), str(s.failed),
              str(s.data_flow_violations)] for s in t.steps]))
    out.append(_data_flow_html(w))
    return "".join(out)


def _data_flow_html(w: WorkflowSection) -> str:
    flow = w.data_flow
    if flow is None:
        return "<h3>Data flow across steps</h3><p class=\"fail\">not computed</p>"
    cls = "pass" if flow.count == 0 else "fail"
    out = ["<h3>Data flow across steps</h3>",
           f'<p>Data-flow violations (markers carried between steps, judged by the policy): '
           f'<span class="{cls}">{flow.count}</span> of {flow.checked} upstream requests that '
           "carried earlier steps' data.</p>"]
    if flow.violations:
        out.append(_html_table(
            ["path", "carried", "declared", "allowed for the carried data", "request"],
            [[" -> ".join(v.path), ", ".join(v.carried) or v.reason, ", ".join(v.declared),
              ", ".join(v.allowed) or "none", v.request_id or "n/a"]
             for v in flow.violations[:VIOLATIONS_SHOWN]]))
        if flow.count > VIOLATIONS_SHOWN:
            out.append(f'<div class="muted">first {VIOLATIONS_SHOWN} of {flow.count} shown '
                       "(report.json keeps more).</div>")
    return "".join(out)


def workflows_markdown(report: Report) -> list[str]:
    """Markdown lines of the section (none without workflow load)."""
    w = report.workflows
    if w is None:
        return []
    lines = ["**Agent workflows**", "", "| scope | " + " | ".join(_FIGURE_HEADERS) + " |",
             "|---" * (len(_FIGURE_HEADERS) + 1) + "|"]
    rows = ([("whole run", w.overall)] + [(f"during {n}", f) for n, f in w.during_faults.items()]
            + [(f"type {t.workflow}", t.figures) for t in w.by_type])
    for name, f in rows:
        lines.append(f"| {name} | " + " | ".join(_figure_cells(f)) + " |")
    lines.append("")
    flow = w.data_flow
    if flow is None:
        lines += ["**Data-flow violations:** not computed.", ""]
        return lines
    lines.append(f"**Data-flow violations:** {flow.count} of {flow.checked} upstream requests "
                 "that carried earlier steps' data.")
    for v in flow.violations[:10]:
        lines.append(f"- `{' -> '.join(v.path)}`: carried {', '.join(v.carried) or v.reason}"
                     f" into a step declared {', '.join(v.declared) or 'nothing'}"
                     f" (request `{v.request_id}`)")
    if flow.count > 10:
        lines.append(f"- … {flow.count - 10} more in report.json")
    lines.append("")
    return lines


def workflow_summary(report: Report) -> str | None:
    """One line for the console: how the workflows fared and the data-flow violations."""
    w = report.workflows
    if w is None:
        return None
    f = w.overall
    text = (f"workflows: {f.workflows} ended, {_pct(f.success_rate)} succeeded, {f.fallback} "
            f"finished on fallback, {f.abandoned} abandoned, {f.steps_retried} steps retried; "
            f"p95 {_ms(f.latency_p95_ms)} ms")
    if w.data_flow is None:
        return text + "; data-flow violations: not computed"
    text += (f"; data-flow violations: {w.data_flow.count} (of {w.data_flow.checked} upstream "
             "requests carrying earlier steps' data)")
    if w.data_flow.violations:
        text += f"\n  first: {' -> '.join(w.data_flow.violations[0].path)}"
    return text
