"""The building blocks of ``report.html``: its stylesheet, escaping, tables, key/value blocks and
metric values for people. Every value goes through :func:`esc` (names come from user-written
YAML); markup built here from escaped parts travels as :class:`Raw`.

>>> table(["a"], [["<b>"]])
'<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from chaos.report.view import unit_of

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#0f172a;background:#f8fafc}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.verdict{border-radius:8px;padding:16px 20px;margin:12px 0;color:#fff}
.verdict b{font-size:26px;letter-spacing:.04em}.verdict .tally{font-size:16px;margin-left:16px}
.verdict ul{margin:8px 0 0}
.passed{background:#15803d}.failed{background:#b91c1c}.broken{background:#7c2d12}
.note{background:#fef3c7;border:1px solid #f59e0b;border-radius:6px;padding:8px 12px;margin:10px 0}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.nowrap{white-space:nowrap}
.pass{color:#15803d;font-weight:700}.fail{color:#b91c1c;font-weight:700}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;overflow-x:auto}
.muted{color:#64748b}svg{width:100%;height:auto;display:block;background:#fff}
table.kv th{width:230px;white-space:nowrap}table.kv td{overflow-wrap:anywhere}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
tr.failrow td{background:#fee2e2}tr.failrow td:first-child{box-shadow:inset 4px 0 #b91c1c}
tr.skiprow td{background:#f1f5f9;color:#64748b}
.evidence{border:2px solid #0f172a;border-radius:8px;background:#fff;padding:4px 12px 10px;margin:12px 0}
.evidence h2{margin-top:10px}
td.forbidden{background:repeating-linear-gradient(45deg,#f1f5f9,#f1f5f9 6px,#e2e8f0 6px,#e2e8f0 12px)}
td.violation{background:#b91c1c;color:#fff;font-weight:700}td.allowed{background:#f0fdf4}
td.mixed{background:#fefce8}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.tag.ephemeral{background:#fef3c7;color:#92400e}.tag.key{background:#dcfce7;color:#166534}
.tag.keyless{background:#dbeafe;color:#1e40af}
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
           nowrap: Iterable[int] = (), row_classes: Sequence[str] = ()) -> str:
    nums, keep = set(numeric), set(nowrap)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            names = " ".join(n for n, on in (("num", i in nums), ("nowrap", i in keep)) if on)
            cls = f' class="{names}"' if names else ""
            # Cells pre-rendered as markup are passed as Raw; everything else is escaped.
            text = cell.html if isinstance(cell, Raw) else esc(cell)
            cells.append(f"<td{cls}>{text}</td>")
        row_cls = row_classes[index] if index < len(row_classes) else ""
        body.append(f'<tr class="{row_cls}">{"".join(cells)}</tr>' if row_cls else f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw:
    """Markup built here from escaped parts (never from raw input)."""

    def __init__(self, html: str) -> None:
        self.html = html


def pass_mark(passed: bool) -> Raw:
    return Raw('<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>')


RATES = ("success_rate", "error_rate", "graceful_degradation_rate")


def metric_value(metric: str, value: float | None, requests: int | None = None) -> str:
    """A metric's value for people: rates as ``100% (240/240)``, others with their unit."""
    if value is None:
        return "n/a"
    if metric in RATES:
        text = f"{value * 100:.4g}%"
        if requests:
            text += f" ({round(value * requests)}/{requests})"
        return text
    return num(value) + unit_of(metric)


def kv(pairs: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'
