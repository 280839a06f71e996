"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no fetches).

Order of the page: verdict first, then assertions and steady-state probes (expected vs
observed), the latency-and-success chart with fault windows shaded, faults as applied, traffic
by model and by data class, failovers by reason, policy decisions, digests, environment, and how
to verify. Every value goes through :func:`html.escape` (names come from user-written YAML).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from chaos.report.chart import bars_svg, timeline_svg
from chaos.report.view import (
    ReportView,
    display_time,
    failovers_summary,
    probes_summary,
    tally,
    unit_of,
)
from chaos.runner.assertions import CheckResult

_CSS = """
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
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
           nowrap: Iterable[int] = ()) -> str:
    nums, keep = set(numeric), set(nowrap)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            names = " ".join(n for n, on in (("num", i in nums), ("nowrap", i in keep)) if on)
            cls = f' class="{names}"' if names else ""
            # Cells pre-rendered as markup are passed as _Raw; everything else is escaped.
            text = cell.html if isinstance(cell, _Raw) else _e(cell)
            cells.append(f"<td{cls}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    """Markup built here from escaped parts (never from raw input)."""

    def __init__(self, html: str) -> None:
        self.html = html


def _mark(passed: bool) -> _Raw:
    return _Raw('<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>')


def _check_rows(kind: str, results: Sequence[CheckResult], phase_in_kind: bool) -> list[list[Any]]:
    rows = []
    for r in results:
        unit = unit_of(r.metric)
        scope = ", ".join(f"{k}={v}" for k, v in r.scope.items())
        if r.during:
            where = f"during {r.during}"
        elif phase_in_kind:  # a probe is checked over its steady-state window, not the whole run
            where = "steady-state window"
        else:
            where = (r.phase or "").replace("_", " ")
        observed = "n/a" if r.observed is None else _num(r.observed) + unit
        # The default name already starts with the metric: do not say it twice.
        metric = "" if r.name.startswith(r.metric) else f"{r.metric} "
        rows.append([_mark(r.passed), r.name, kind, f"{metric}{r.op} {r.expected:g}{unit}",
                     observed, r.requests, " ".join(x for x in (where, scope) if x) or "whole run",
                     r.detail])
    return rows


def _kv(pairs: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'



def render_html(view: ReportView) -> str:
    """The whole page as a string."""
    r = view.report
    m = r.metrics
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        # No network, no scripts: a CSP the browser enforces even if something slipped in.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>govchaos report: {_e(r.scenario.name)} — {_e(r.verdict)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Chaos report: {_e(r.scenario.name)}</h1>",
        f'<div class="muted">run <code>{_e(r.run_id)}</code> · {_e(display_time(r.started_at))} → '
        f"{_e(display_time(r.ended_at))} ({r.duration_s:.1f} s) · seed {r.seed}</div>",
        f'<div class="verdict {_e(r.verdict)}"><b>{_e(r.verdict.upper())}</b>',
    ]
    out.append(f'<span class="tally">{_e(tally(view.report))}</span>')
    if r.partial:
        out.append('<div>partial report (the run did not complete)</div>')
    if r.verdict_reasons:
        out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in r.verdict_reasons) + "</ul>")
    out.append("</div>")
    if r.scenario.proves:
        out.append(f"<p><b>What this scenario proves:</b> {_e(r.scenario.proves)}</p>")
    if view.signing is not None and view.signing.ephemeral:
        out.append(_ephemeral_note(view))
    violations = r.policy_violations
    if violations is not None:
        cls = "pass" if violations.count == 0 else "fail"
        out.append(f'<p>Policy violations (ground truth from the upstreams\' logs): '
                   f'<span class="{cls}">{violations.count}</span> of {violations.checked} '
                   "upstream requests checked.</p>")

    out.append("<h2>Assertions and steady-state probes</h2>")
    rows = (_check_rows("steady before", r.steady_state.before, True)
            + _check_rows("assertion", r.assertions, False)
            + _check_rows("steady after", r.steady_state.after, True))
    headers = ["", "check", "kind", "expected", "observed", "requests", "window"]
    if any(row[-1] for row in rows):
        headers.append("detail")
    else:  # an empty column on every row is noise
        rows = [row[:-1] for row in rows]
    out.append(_table(headers, rows, numeric=(4, 5), nowrap=(2, 3, 4)))
    if r.stopped_early:
        s = r.stopped_early
        out.append(f'<p class="fail">Stopped early at {s.at_s:.1f} s: {_e(s.condition)} '
                   f"(observed {_num(s.observed)})</p>")

    out.append("<h2>Latency and success over time</h2>")
    out.append(timeline_svg(view.buckets, view.fault_spans))
    out.append(f'<div class="muted">Per-second buckets by send time, from {_e(view.buckets_source)}; '
               "latency counts every request, failed ones included.</div>")
    if m is not None:
        out.append(_table(
            ["requests", "ok", "errors", "success rate", "p50 ms", "p95 ms", "p99 ms", "req/s"],
            [[m.requests, m.ok, m.errors, _num(m.success_rate), _num(m.latency_p50_ms),
              _num(m.latency_p95_ms), _num(m.latency_p99_ms), _num(m.throughput_rps)]],
            numeric=range(8)))

    out.append("<h2>Faults as applied</h2>")
    out.append(_table(
        ["name", "kind", "target", "parameters", "planned (fault phase)", "in force (run time)",
         "status", "observed effect"],
        [[f.name, f.kind, f.target, ", ".join(f"{k}={v}" for k, v in f.params.items()) or "—",
          f"+{f.planned_at_s:g} s, for {f.planned_duration_s:g} s", _in_force(f.applied_at_s, f.reverted_at_s),
          f.status + (f": {f.error}" if f.error else ""),
          f.effect.summary if f.effect else ""] for f in r.faults]))
    out.append('<div class="muted">Planned times count from the start of the fault phase; '
               "times in force count from the start of the run, like the chart.</div>")

    out.append("<h2>Traffic by model</h2>")
    if m is not None:
        out.append('<div class="muted">Successful responses by the model that served them '
                   "(per the upstreams' own request logs):</div>")
        out.append(bars_svg(m.served_by_model))
        models = sorted(set(m.served_by_model) | set(m.upstream_received_by_model))
        out.append(_table(["model", "served (upstream logs)", "received (upstream logs)"],
                          [[k, m.served_by_model.get(k, 0), m.upstream_received_by_model.get(k, 0)]
                           for k in models], numeric=(1, 2)))
        out.append("<h2>Traffic by data class</h2>")
        out.append(_table(["data class", "requests", "ok", "errors"],
                          [[k, v.get("requests", 0), v.get("ok", 0), v.get("errors", 0)]
                           for k, v in sorted(m.by_data_class.items())], numeric=(1, 2, 3)))
        out.append("<h2>Failovers by reason</h2>")
        out.append(f'<div class="muted">{_e(failovers_summary(m) or "")}.</div>')
        out.append(bars_svg(m.failovers_by_reason, colour="#f97316"))

    out.append("<h2>Policy decisions</h2>")
    out.append(_decisions_html(view))
    out.append(_probes_html(view))

    out.append("<h2>Digests</h2>")
    out.append(_kv({
        "scenario sha256": r.scenario.sha256,
        "policy bundle": r.policy.bundle,
        "policy bundle sha256": r.policy.sha256,
        "policy files": ", ".join(r.policy.files) or "n/a",
        "gateway": f"{r.gateway.kind} {r.gateway.version or ''}".strip(),
        "gateway config sha256": r.gateway.config_sha256 or "n/a",
        "audit log": r.audit.file or "none",
        "audit chain head": r.audit.head or "n/a",
        "audit records": r.audit.records if r.audit.records is not None else "n/a",
        "audit verified at run end": "yes" if r.audit.verified else f"no ({r.audit.error or 'n/a'})",
    }))

    env = r.environment
    out.append("<h2>Environment</h2>")
    out.append(_kv({
        "govchaos": env.govchaos_version, "python": env.python_version,
        "platform": env.platform, "host": env.host, "cpus": env.cpu_count or "n/a",
        "GPUs": "; ".join(f"{g.index}: {g.model} (driver {g.driver or 'n/a'})" for g in env.gpus)
        or "none", "fault proxy": env.toxiproxy,
    }))

    out.append("<h2>How to verify</h2>")
    out.append(_verify_html(view))
    out.append("</main></body></html>\n")
    return "".join(out)


def _in_force(applied: float | None, reverted: float | None) -> str:
    if applied is None:
        return "never applied"
    if reverted is None:
        return f"{applied:.1f} s → end of run (not reverted)"
    return f"{applied:.1f} s → {reverted:.1f} s ({reverted - applied:.1f} s)"


def _ephemeral_note(view: ReportView) -> str:
    key = view.signing.key_id if view.signing else None
    return ('<div class="note"><b>Signed with an ephemeral key.</b> A fresh key signed this run and '
            f"its public half is in <code>{_e(view.signing.public_key_file if view.signing else '')}</code>."
            " Verification proves the files are unchanged since signing (integrity), not who "
            f"signed them (origin). Key id: <code>{_e(key)}</code></div>")


def _decisions_html(view: ReportView) -> str:
    d = view.decisions
    if d is None:
        return '<p class="muted">No audit log in this report (external gateway?).</p>'
    parts = [_kv({
        "audit records": d.records,
        "decisions": d.decisions,
        "allowed": d.allowed,
        "denied": d.denied,
        "decision latency p50 (ms)": _num(d.decision_latency_p50_ms),
        "upstream attempts": d.attempts,
        "GPU health events": d.gpu_events,
        **({"unreadable lines": d.unreadable} if d.unreadable else {}),
    })]
    parts.append('<div class="grid"><div>')
    parts.append(_table(["route", "decisions", "allowed", "denied"],
                        [[k, v.decisions, v.allowed, v.denied] for k, v in d.by_route.items()],
                        numeric=(1, 2, 3)))
    parts.append(_table(["deny reason", "count"], list(d.deny_reasons.items()), numeric=(1,)))
    parts.append("</div><div>")
    parts.append(_table(["attempt outcome", "count"], list(d.attempts_by_outcome.items()), numeric=(1,)))
    parts.append(_table(["model attempted", "attempts"], list(d.attempts_by_model.items()), numeric=(1,)))
    parts.append("</div></div>")
    v = view.report.policy_violations
    if v is not None and v.examples:
        parts.append("<p><b>Violations (examples)</b></p>")
        parts.append(_table(["upstream", "model", "request id", "reason", "route", "tenant", "data classes"],
                            [[x.upstream, x.model, x.request_id, x.reason, x.route, x.tenant,
                              ", ".join(x.data_classes)] for x in v.examples]))
    return "".join(parts)


def _probes_html(view: ReportView) -> str:
    """Gateway health probes the upstreams received: counted apart, per upstream."""
    v = view.report.policy_violations
    text = probes_summary(v)
    if v is None or text is None:
        return ""
    return (f'<p id="probes"><b>Health probes.</b> {_e(text)}.</p>'
            + _table(["upstream", "health probes"], sorted(v.probes_by_upstream.items()), numeric=(1,)))


def _verify_html(view: ReportView) -> str:
    if view.signing is None or view.verify_command is None:
        return ('<p>This report was rendered without being signed. Sign it with '
                "<code>govchaos chaos run … --key KEY</code>.</p>")
    s = view.signing
    lines = [f"<pre>{_e(view.verify_command)}</pre>"]
    if s.mode == "key":
        lines.append(f"<p>Signed with an organisation key, key id <code>{_e(s.key_id)}</code>. "
                     "Obtain the public key (<code>govchaos-signing.pub</code>) from the signer "
                     "through a channel you trust and check its key id.</p>")
    elif s.mode == "keyless":
        lines.append(f"<p>Signed keylessly with Sigstore as <code>{_e(s.identity)}</code> "
                     f"(issuer <code>{_e(s.issuer)}</code>).</p>")
    else:
        lines.append("<p>Verifies against the report's own <code>signing-key.pub</code>: that "
                     "proves integrity, not origin. Compare the key id above with the one "
                     "printed when the run was made (e.g. in the CI log or PR comment).</p>")
    lines.append("<p>The command checks the signature, every file's sha256 (none missing, none "
                 "added), the audit chain up to the signed head, report.json against its schema, "
                 "and that the signed summary matches report.json. See "
                 "<code>docs/verifying-reports.md</code>.</p>")
    return "".join(lines)
