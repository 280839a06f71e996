"""Inline SVG charts (no scripts, no fonts fetched): latency and success over time, bars.

>>> svg = timeline_svg([], [])
>>> svg.startswith("<svg") and "no requests" in svg
True

Every piece of text placed in the SVG goes through :func:`html.escape`: fault and model names
come from user-written YAML.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from html import escape

from chaos.report.series import SecondBucket
from chaos.report.view import FaultSpan

_W = 1000  # viewBox width
_PAD_L, _PAD_R = 64, 56  # right margin: the requests/s axis
_PANEL_H = 170
_GAP = 46
_FAULT_FILL = "#f59e0b"
_P50, _P95, _OK, _SENT = "#2563eb", "#9333ea", "#16a34a", "#cbd5e1"


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 × 10^k at or above ``value`` (axis top)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: str = "") -> str:
    if not points:
        return ""
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline fill="none" stroke="{colour}" stroke-width="1.8"{extra} '
            f'points="{coords}"/>')


_PHASE_FILL = {"steady_before": "#e0f2fe", "faults": "#fee2e2", "recovery": "#fef9c3",
               "steady_after": "#dcfce7"}
_MARK_COLOUR = {"fault": "#b45309", "gpu": "#dc2626", "stop": "#7f1d1d", "harness": "#475569",
                "phase": "#94a3b8"}
_MODEL_COLOURS = ("#2563eb", "#16a34a", "#f59e0b", "#9333ea", "#0891b2", "#db2777", "#65a30d",
                  "#ea580c", "#64748b")
PhaseSpan = tuple[str, float, float]


def _time_axis(parts: list[str], x: Callable[[float], float], t_max: float, y: float, label: str) -> None:
    step = _nice_max(t_max / 10)
    t = 0.0
    while t <= t_max + 1e-9:
        parts.append(f'<text x="{x(t):.1f}" y="{y}" text-anchor="middle">{_fmt(t)}</text>')
        t += step
    parts.append(f'<text x="{x(t_max / 2):.1f}" y="{y + 18}" text-anchor="middle">{escape(label)}</text>')


_GRID = (0, 0.25, 0.5, 0.75, 1)


def _panel_frame(parts: list[str], x: Any, phases: Any, top: float, plot_w: float, title: str,
                 labels: list[str]) -> None:
    """A panel's title, phase strip, frame and horizontal grid (one label per ``_GRID`` line)."""
    parts.append("<style>text{font:11px sans-serif;fill:#334155}</style>")
    parts.append(f'<text x="{_PAD_L}" y="{top - 26}" style="font-weight:bold">{title}</text>')
    _phase_strip(parts, x, phases, top - 18)
    parts.append(f'<rect x="{_PAD_L}" y="{top}" width="{plot_w}" height="{_PANEL_H}" fill="#fff" stroke="#cbd5e1"/>')
    for frac, label in zip(_GRID, labels):
        y = top + _PANEL_H * (1 - frac)
        parts.append(f'<line x1="{_PAD_L}" x2="{_PAD_L + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')


def _phase_strip(parts: list[str], x: Callable[[float], float], phases: Sequence[PhaseSpan], y: float) -> None:
    """A labelled band per phase (steady_before / faults / recovery / steady_after)."""
    for name, a, b in phases:
        if name not in _PHASE_FILL:
            continue
        x0, x1 = x(a), x(b)
        parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="14" '
                     f'fill="{_PHASE_FILL[name]}" stroke="#cbd5e1"><title>{escape(f"{name} {a:.1f}–{b:.1f} s")}</title></rect>')
        if x1 - x0 > 40:
            parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y + 11}" text-anchor="middle" '
                         f'style="font-size:10px">{escape(name.replace("_", " "))}</text>')


def _shade_faults(parts: list[str], x: Callable[[float], float], spans: Sequence[FaultSpan],
                  top: float, height: float, label: bool) -> None:
    for span in spans:
        x0, x1 = x(span.start_s), x(span.end_s)
        # Drawn over the bars (translucent), so no bar hides a fault window.
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" height="{height}" '
            f'fill="{_FAULT_FILL}" fill-opacity="0.18" stroke="{_FAULT_FILL}" stroke-opacity="0.6">'
            f'<title>{escape(f"{span.name} ({span.kind} on {span.target}) {span.start_s:.1f}–{span.end_s:.1f} s")}</title></rect>'
        )
        if label:
            parts.append(f'<text x="{x0 + 3:.1f}" y="{top + 12}" style="fill:#b45309">{escape(span.name)}</text>')


def _marks(parts: list[str], x: Callable[[float], float], marks: Sequence[Any], top: float,
           height: float, label: bool) -> None:
    """Vertical lines for GPU health events, fault applies/reverts and a tripped stop."""
    row = 0
    for mark in marks:
        if mark.kind not in ("gpu", "stop", "fault"):
            continue
        colour = _MARK_COLOUR[mark.kind]
        dash = "2,2" if mark.kind == "fault" else "5,3" if mark.kind == "gpu" else ""
        xm = x(mark.t_s)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        width = 2.2 if mark.kind == "stop" else 1.2
        parts.append(f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{top}" y2="{top + height}" '
                     f'stroke="{colour}" stroke-width="{width}"{extra}>'
                     f'<title>{escape(f"{mark.t_s:.2f} s {mark.label} {mark.detail}".strip())}</title></line>')
        if label and mark.kind in ("gpu", "stop"):
            parts.append(f'<text x="{xm + 3:.1f}" y="{top + 26 + 12 * (row % 3)}" '
                         f'style="fill:{colour};font-size:10px">{escape(mark.label)}</text>')
            row += 1


def timeline_svg(buckets: Sequence[SecondBucket], spans: Sequence[FaultSpan],
                 phases: Sequence[PhaseSpan] = (), marks: Sequence[Any] = ()) -> str:
    """Two panels sharing the time axis and one timeline: latency p50/p95 (ms), and success rate
    (%) with requests sent per second as bars. Phases are a band above each panel; every fault
    window is shaded (over the bars); GPU health events, fault applies/reverts and a tripped stop
    condition are vertical lines through both panels. The right axis's ticks sit on the same
    gridlines as the left one's."""
    strip = 18
    height = 2 * (_PANEL_H + strip) + _GAP + 70
    head = (f'<svg viewBox="0 0 {_W} {height}" '
            f'role="img" aria-label="latency and success rate over time" class="chart">')
    if not buckets:
        return (f'{head}<text x="{_W / 2}" y="{height / 2}" text-anchor="middle" '
                f'fill="#64748b">no requests were recorded</text></svg>')
    t_max = max(max(b.t_s for b in buckets) + 1, max((s.end_s for s in spans), default=0.0),
                max((b for _, _, b in phases), default=0.0), 1.0)
    plot_w = _W - _PAD_L - _PAD_R

    def x(t: float) -> float:
        return _PAD_L + plot_w * min(max(t, 0.0), t_max) / t_max

    lat_top = _nice_max(max((b.latency_p95_ms or b.latency_p50_ms or 0.0) for b in buckets))
    sent_top = _nice_max(max(b.sent for b in buckets))
    top1 = 30 + strip
    top2 = top1 + _PANEL_H + _GAP + strip
    parts = [head, "<style>text{font:11px sans-serif;fill:#334155}</style>"]
    fracs = (0, 0.25, 0.5, 0.75, 1)

    def panel(top: float, title: str, ticks: Sequence[tuple[float, str]]) -> None:
        parts.append(f'<text x="{_PAD_L}" y="{top - strip - 8}" style="font-weight:bold">{escape(title)}</text>')
        _phase_strip(parts, x, phases, top - strip)
        parts.append(f'<rect x="{_PAD_L}" y="{top}" width="{plot_w}" height="{_PANEL_H}" '
                     f'fill="#ffffff" stroke="#cbd5e1"/>')
        for frac, label in ticks:
            y = top + _PANEL_H * (1 - frac)
            parts.append(f'<line x1="{_PAD_L}" x2="{_PAD_L + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#e2e8f0"/>')
            parts.append(f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')

    panel(top1, "Latency per second (ms) — p50 solid, p95 dashed", [(f, _fmt(lat_top * f)) for f in fracs])
    _shade_faults(parts, x, spans, top1, _PANEL_H, label=True)
    _marks(parts, x, marks, top1, _PANEL_H, label=True)

    def y_lat(v: float) -> float:
        return top1 + _PANEL_H * (1 - min(v / lat_top, 1.0))

    parts.append(_polyline([(x(b.t_s + 0.5), y_lat(b.latency_p50_ms)) for b in buckets
                            if b.latency_p50_ms is not None], _P50))
    parts.append(_polyline([(x(b.t_s + 0.5), y_lat(b.latency_p95_ms)) for b in buckets
                            if b.latency_p95_ms is not None], _P95, "5,3"))

    panel(top2, "Success rate per second (green line, left axis) and requests sent per second "
          "(grey bars, right axis)", [(f, f"{int(f * 100)}%") for f in fracs])
    # The right axis uses the same five gridlines: a bar's top reads against its own scale.
    for frac in fracs:
        y = top2 + _PANEL_H * (1 - frac)
        parts.append(f'<text x="{_PAD_L + plot_w + 6}" y="{y + 4:.1f}" style="fill:#64748b">'
                     f"{escape(_fmt(sent_top * frac))}/s</text>")
    bar_w = max(plot_w / t_max - 1, 1.0)
    for b in buckets:
        h = _PANEL_H * b.sent / sent_top
        parts.append(f'<rect x="{x(b.t_s):.1f}" y="{top2 + _PANEL_H - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{_SENT}" fill-opacity="0.55"/>')
    _shade_faults(parts, x, spans, top2, _PANEL_H, label=False)
    _marks(parts, x, marks, top2, _PANEL_H, label=False)
    parts.append(_polyline([(x(b.t_s + 0.5), top2 + _PANEL_H * (1 - b.success_rate))
                            for b in buckets if b.success_rate is not None], _OK))
    _time_axis(parts, x, t_max, top2 + _PANEL_H + 16,
               "seconds since the run started (bands: phases; shaded: fault windows; "
               "red dashed: GPU health events; dark red: stop condition)")
    parts.append("</svg>")
    return "".join(parts)


def traffic_svg(seconds: Sequence[tuple[int, Sequence[int]]], models: Sequence[str],
                spans: Sequence[FaultSpan] = (), phases: Sequence[PhaseSpan] = (),
                marks: Sequence[Any] = ()) -> str:
    """Requests per second stacked by model (what each model received), on the same timeline."""
    legend_h = 18 * ((len(models) + 2) // 3)
    height = _PANEL_H + 18 + 80 + legend_h
    head = (f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="traffic by model over time" '
            f'class="chart">')
    if not seconds or not models:
        return (f'{head}<text x="{_W / 2}" y="{height / 2}" text-anchor="middle" '
                f'fill="#64748b">no traffic was recorded</text></svg>')
    t_max = max(max(t for t, _ in seconds) + 1, max((s.end_s for s in spans), default=0.0),
                max((b for _, _, b in phases), default=0.0), 1.0)
    plot_w = _W - _PAD_L - _PAD_R

    def x(t: float) -> float:
        return _PAD_L + plot_w * min(max(t, 0.0), t_max) / t_max

    top = 30 + 18
    y_top = _nice_max(max(sum(c) for _, c in seconds))
    parts = [head]
    _panel_frame(parts, x, phases, top, plot_w, "Requests received per second, stacked by model",
                 [_fmt(y_top * frac) for frac in _GRID])
    bar_w = max(plot_w / t_max - 1, 1.0)
    for t, counts in seconds:
        base = 0
        for i, count in enumerate(counts):
            if not count:
                continue
            y1 = top + _PANEL_H * (1 - (base + count) / y_top)
            h = _PANEL_H * count / y_top
            parts.append(f'<rect x="{x(t):.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{_MODEL_COLOURS[i % len(_MODEL_COLOURS)]}">'
                         f'<title>{escape(f"{t}–{t + 1} s: {models[i]} {count}")}</title></rect>')
            base += count
    _shade_faults(parts, x, spans, top, _PANEL_H, label=True)
    _marks(parts, x, marks, top, _PANEL_H, label=False)
    _time_axis(parts, x, t_max, top + _PANEL_H + 16, "seconds since the run started")
    ly = top + _PANEL_H + 52
    for i, model in enumerate(models):
        lx = _PAD_L + (i % 3) * 300
        yy = ly + 18 * (i // 3)
        parts.append(f'<rect x="{lx}" y="{yy - 10}" width="12" height="12" '
                     f'fill="{_MODEL_COLOURS[i % len(_MODEL_COLOURS)]}"/>')
        parts.append(f'<text x="{lx + 18}" y="{yy}">{escape(model)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(values: Mapping[str, float], *, unit: str = "", colour: str = "#0ea5e9") -> str:
    """Horizontal bars, one per key, largest first."""
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    row, label_w = 22, 230
    height = max(row * len(items) + 8, 30)
    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" '
             f'class="bars"><style>text{{font:12px sans-serif;fill:#334155}}</style>']
    if not items:
        parts.append(f'<text x="4" y="18" fill="#64748b">none</text></svg>')
        return "".join(parts)
    top = max(v for _, v in items) or 1
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        w = (_W - label_w - 90) * value / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row - 6}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{escape(_fmt(value) + unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_COST = "#0f766e"


def cost_svg(points: Sequence[tuple[int, float | None, int]], spans: Sequence[FaultSpan] = (),
             phases: Sequence[PhaseSpan] = (), marks: Sequence[Any] = (),
             average: float | None = None) -> str:
    """US dollars per 1,000 requests, per second by send time (``(t_s, usd_per_1k, requests)``;
    None: a second whose cost is unknown), the run's average dashed, on the same timeline as the
    other charts: phases as a band, fault windows shaded, fault applies/reverts as lines."""
    height = _PANEL_H + 18 + 80
    head = (f'<svg viewBox="0 0 {_W} {height}" role="img" '
            f'aria-label="cost per 1000 requests over time" class="chart">')
    known = [(t, v) for t, v, _ in points if v is not None]
    if not known:
        return (f'{head}<text x="{_W / 2}" y="{height / 2}" text-anchor="middle" '
                f'fill="#64748b">no cost figures were recorded</text></svg>')
    t_max = max(max(t for t, _, _ in points) + 1, max((s.end_s for s in spans), default=0.0),
                max((b for _, _, b in phases), default=0.0), 1.0)
    plot_w = _W - _PAD_L - _PAD_R

    def x(t: float) -> float:
        return _PAD_L + plot_w * min(max(t, 0.0), t_max) / t_max

    top = 30 + 18
    y_top = _nice_max(max([v for _, v in known] + [average or 0.0]))

    def y(v: float) -> float:
        return top + _PANEL_H * (1 - min(v / y_top, 1.0))

    parts = [head]
    _panel_frame(parts, x, phases, top, plot_w,
                 "US dollars per 1,000 requests, per second (solid); the measured run's average "
                 "(dashed)", [f"${y_top * frac:.3g}" for frac in _GRID])
    _shade_faults(parts, x, spans, top, _PANEL_H, label=True)
    _marks(parts, x, marks, top, _PANEL_H, label=False)
    if average is not None:
        parts.append(_polyline([(x(0), y(average)), (x(t_max), y(average))], "#64748b", "6,4"))
    parts.append(_polyline([(x(t + 0.5), y(v)) for t, v in known], _COST))
    for t, v, n in points:
        if v is not None:
            parts.append(f'<circle cx="{x(t + 0.5):.1f}" cy="{y(v):.1f}" r="2" fill="{_COST}">'
                         f'<title>{escape(f"{t}–{t + 1} s: ${v:.6g} per 1k requests ({n} requests)")}</title></circle>')
    _time_axis(parts, x, t_max, top + _PANEL_H + 16,
               "seconds since the run started (bands: phases; shaded: fault windows)")
    parts.append("</svg>")
    return "".join(parts)
