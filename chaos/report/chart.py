"""Inline SVG charts (no scripts, no fonts fetched): latency and success over time, bars.

>>> svg = timeline_svg([], [])
>>> svg.startswith("<svg") and "no requests" in svg
True

Every piece of text placed in the SVG goes through :func:`html.escape`: fault and model names
come from user-written YAML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def timeline_svg(buckets: Sequence[SecondBucket], spans: Sequence[FaultSpan]) -> str:
    """Two panels sharing the time axis: latency p50/p95 (ms) and success rate (%) with
    requests sent per second as bars; every fault window shaded and labelled in both."""
    height = 2 * _PANEL_H + _GAP + 70
    head = (f'<svg viewBox="0 0 {_W} {height}" '
            f'role="img" aria-label="latency and success rate over time" class="chart">')
    if not buckets:
        return (f'{head}<text x="{_W / 2}" y="{height / 2}" text-anchor="middle" '
                f'fill="#64748b">no requests were recorded</text></svg>')
    t_max = max(max(b.t_s for b in buckets) + 1, max((s.end_s for s in spans), default=0.0), 1.0)
    plot_w = _W - _PAD_L - _PAD_R

    def x(t: float) -> float:
        return _PAD_L + plot_w * min(max(t, 0.0), t_max) / t_max

    lat_top = _nice_max(max((b.latency_p95_ms or b.latency_p50_ms or 0.0) for b in buckets))
    sent_top = _nice_max(max(b.sent for b in buckets))
    top1, top2 = 30, 30 + _PANEL_H + _GAP
    parts = [head, "<style>text{font:11px sans-serif;fill:#334155}</style>"]

    def panel(top: float, title: str, ticks: Sequence[tuple[float, str]]) -> None:
        parts.append(f'<text x="{_PAD_L}" y="{top - 8}" style="font-weight:bold">{escape(title)}</text>')
        parts.append(f'<rect x="{_PAD_L}" y="{top}" width="{plot_w}" height="{_PANEL_H}" '
                     f'fill="#ffffff" stroke="#cbd5e1"/>')
        for frac, label in ticks:
            y = top + _PANEL_H * (1 - frac)
            parts.append(f'<line x1="{_PAD_L}" x2="{_PAD_L + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#e2e8f0"/>')
            parts.append(f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        for span in spans:
            x0, x1 = x(span.start_s), x(span.end_s)
            parts.append(
                f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" height="{_PANEL_H}" '
                f'fill="{_FAULT_FILL}" fill-opacity="0.18" stroke="{_FAULT_FILL}" stroke-opacity="0.6">'
                f'<title>{escape(f"{span.name} ({span.kind} on {span.target}) {span.start_s:.1f}–{span.end_s:.1f} s")}</title></rect>'
            )
            parts.append(f'<text x="{x0 + 3:.1f}" y="{top + 12}" style="fill:#b45309">'
                         f'{escape(span.name)}</text>')

    ticks = [(f, _fmt(lat_top * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    panel(top1, "Latency per second (ms) — p50 solid, p95 dashed", ticks)

    def y_lat(v: float) -> float:
        return top1 + _PANEL_H * (1 - min(v / lat_top, 1.0))

    parts.append(_polyline([(x(b.t_s + 0.5), y_lat(b.latency_p50_ms)) for b in buckets
                            if b.latency_p50_ms is not None], _P50))
    parts.append(_polyline([(x(b.t_s + 0.5), y_lat(b.latency_p95_ms)) for b in buckets
                            if b.latency_p95_ms is not None], _P95, "5,3"))

    ticks2 = [(f, f"{int(f * 100)}%") for f in (0, 0.25, 0.5, 0.75, 1)]
    panel(top2, "Success rate per second (green line, left axis) and requests sent per second "
          "(grey bars, right axis)", ticks2)
    # Bars keep to the lower part (the line matters more) and get their own axis on the right,
    # so a bar's height is never read against the percentage axis.
    bar_share = 0.4
    for frac in (0.0, 0.5, 1.0):
        y = top2 + _PANEL_H * (1 - bar_share * frac)
        parts.append(f'<text x="{_PAD_L + plot_w + 6}" y="{y + 4:.1f}" style="fill:#64748b">'
                     f"{escape(_fmt(sent_top * frac))}/s</text>")
    bar_w = max(plot_w / t_max - 1, 1.0)
    for b in buckets:
        h = bar_share * _PANEL_H * b.sent / sent_top
        parts.append(f'<rect x="{x(b.t_s):.1f}" y="{top2 + _PANEL_H - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{_SENT}"/>')
    parts.append(_polyline([(x(b.t_s + 0.5), top2 + _PANEL_H * (1 - b.success_rate))
                            for b in buckets if b.success_rate is not None], _OK))
    axis_y = top2 + _PANEL_H + 16
    step = _nice_max(t_max / 10)
    t = 0.0
    while t <= t_max + 1e-9:
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y}" text-anchor="middle">{_fmt(t)}</text>')
        t += step
    parts.append(f'<text x="{_PAD_L + plot_w / 2}" y="{axis_y + 18}" text-anchor="middle">'
                 'seconds since the run started (shaded: fault windows)</text>')
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
