"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no fetches).

Order of the page: verdict first, then the evidence an auditor checks (who signed, the policy
bundle digest and its files, the gateway config, scenario digest, seed, run id, version,
provenance), the scenario's description and what it proves, the checks (failed rows
highlighted, rates as percentages with n/N), one timeline (phases, fault windows, GPU health
events, a tripped stop condition) drawn on the latency and success charts and on the traffic by
model over time, upstream → model → hosting → region/jurisdiction, the model × data-class matrix
of what the upstreams received with the cells the policy forbids marked, faults as applied,
traffic by data class, failovers, policy decisions, digests, environment, and how to verify. Every value goes through :func:`html.escape` (names come from user-written YAML).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from chaos.report.chart import bars_svg, timeline_svg, traffic_svg
from chaos.report.view import (
    ReportView,
    display_time,
    failovers_summary,
    probes_summary,
    signer_kind,
    tally,
    unit_of,
)
from chaos.report.workflows import workflows_html
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


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
           nowrap: Iterable[int] = (), row_classes: Sequence[str] = ()) -> str:
    nums, keep = set(numeric), set(nowrap)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            names = " ".join(n for n, on in (("num", i in nums), ("nowrap", i in keep)) if on)
            cls = f' class="{names}"' if names else ""
            # Cells pre-rendered as markup are passed as _Raw; everything else is escaped.
            text = cell.html if isinstance(cell, _Raw) else _e(cell)
            cells.append(f"<td{cls}>{text}</td>")
        row_cls = row_classes[index] if index < len(row_classes) else ""
        body.append(f'<tr class="{row_cls}">{"".join(cells)}</tr>' if row_cls else f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    """Markup built here from escaped parts (never from raw input)."""

    def __init__(self, html: str) -> None:
        self.html = html


def _mark(passed: bool) -> _Raw:
    return _Raw('<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>')


_RATES = ("success_rate", "error_rate", "graceful_degradation_rate")


def _value(metric: str, value: float | None, requests: int | None = None) -> str:
    """A metric's value for people: rates as ``100% (240/240)``, others with their unit."""
    if value is None:
        return "n/a"
    if metric in _RATES:
        text = f"{value * 100:.4g}%"
        if requests:
            text += f" ({round(value * requests)}/{requests})"
        return text
    return _num(value) + unit_of(metric)


def _window(view: ReportView, r: CheckResult, kind: str) -> str:
    """Where the check looked, in run seconds (never a repeat of its name)."""
    report = view.report
    if r.skipped:
        return "—"
    if r.during:
        for f in report.faults:
            if f.name == r.during and f.applied_at_s is not None:
                end = f.reverted_at_s if f.reverted_at_s is not None else report.duration_s
                return f"{f.applied_at_s:.1f}–{end:.1f} s"
    if r.phase:
        for ph in report.phases:
            if ph.name == r.phase:
                return f"{ph.start_s:.1f}–{(ph.end_s if ph.end_s is not None else report.duration_s):.1f} s"
    if kind == "stop condition":
        return "every window"
    return "whole run"


def _check_rows(view: ReportView, kind: str, results: Sequence[CheckResult]) -> list[tuple[str, list[Any]]]:
    rows = []
    for r in results:
        if r.skipped:
            mark, cls = _Raw('<span class="muted">NOT RUN</span>'), "skiprow"
        else:
            mark, cls = _mark(r.passed), ("" if r.passed else "failrow")
        op = f"trips if {r.op}" if kind == "stop condition" else r.op
        expected = f"{op} {_value(r.metric, r.expected)}"
        # A stop condition's "requests" count the windows it was checked over, not requests.
        observed = _value(r.metric, r.observed,
                          r.requests if r.metric in _RATES and kind != "stop condition" else None)
        rows.append((cls, [mark, r.name, kind, expected, observed, r.requests,
                           _window(view, r, kind), r.detail]))
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
    out.append(_evidence_html(view))
    if r.scenario.description or r.scenario.proves:
        out.append("<h2>The scenario</h2>")
        if r.scenario.description:
            out.append(f"<p>{_e(r.scenario.description)}</p>")
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

    out.append("<h2>Assertions, steady-state probes and stop conditions</h2>")
    tagged = (_check_rows(view, "steady before", r.steady_state.before)
              + _check_rows(view, "assertion", r.assertions)
              + _check_rows(view, "steady after", r.steady_state.after)
              + _check_rows(view, "stop condition", r.stop_conditions))
    classes = [c for c, _ in tagged]
    rows = [row for _, row in tagged]
    headers = ["", "check", "kind", "expected", "observed", "requests (stop: windows)", "window"]
    if any(row[-1] for row in rows):
        headers.append("detail")
    else:  # an empty column on every row is noise
        rows = [row[:-1] for row in rows]
    out.append(_table(headers, rows, numeric=(4, 5), nowrap=(2, 3, 4, 6), row_classes=classes))
    out.append('<div class="muted">Rates are shown as a percentage with the requests they count '
               "(n/N); window: the seconds of the run each check was computed over.</div>")
    if r.stopped_early:
        st = r.stopped_early
        out.append(f'<p class="fail">Stopped early at {st.at_s:.1f} s: {_e(st.condition)} '
                   f"(observed {_num(st.observed)})</p>")

    phases = [(ph.name, ph.start_s, ph.end_s if ph.end_s is not None else r.duration_s)
              for ph in r.phases]
    out.append("<h2>What happened: latency and success on the run's timeline</h2>")
    out.append(timeline_svg(view.buckets, view.fault_spans, phases, view.marks))
    out.append(f'<div class="muted">Per-second buckets by send time, from {_e(view.buckets_source)}; '
               "latency counts every request, failed ones included.</div>")
    if m is not None:
        out.append(_table(
            ["requests", "ok", "errors", "success rate", "p50 ms", "p95 ms", "p99 ms", "req/s"],
            [[m.requests, m.ok, m.errors, _value("success_rate", m.success_rate, m.requests),
              _num(m.latency_p50_ms), _num(m.latency_p95_ms), _num(m.latency_p99_ms),
              _num(m.throughput_rps)]],
            numeric=range(8)))
    out.append("<h3>Traffic by model over time</h3>")
    if view.traffic is not None:
        out.append(traffic_svg(view.traffic.seconds, view.traffic.models, view.fault_spans, phases,
                               view.marks))
        out.append(f'<div class="muted">From {_e(view.traffic.source)}: what each model received '
                   "per second (health probes left out).</div>")
    else:
        out.append('<p class="muted">No per-request traffic in this report.</p>')
    out.append("<h3>Timeline</h3>")
    out.append(_timeline_table(view))
    out.append(workflows_html(r, view.fault_spans))

    out.append("<h2>Who serves what: upstream → model → hosting → region / jurisdiction</h2>")
    out.append(_upstreams_html(view))
    out.append("<h2>Model × data class: requests the upstreams actually received</h2>")
    out.append(_matrix_html(view))

    out.append("<h2>Faults as applied</h2>")
    out.append(_table(
        ["name", "kind", "target", "parameters", "planned (fault phase)", "in force (run time)",
         "status", "observed effect"],
        [[f.name, f.kind, f.target, ", ".join(f"{k}={v}" for k, v in f.params.items()) or "—",
          f"+{f.planned_at_s:g} s, for {f.planned_duration_s:g} s", _in_force(f.applied_at_s, f.reverted_at_s),
          f.status + (f": {f.error}" if f.error else ""),
          _effect_text(f.effect)] for f in r.faults]))
    out.append('<div class="muted">Planned times count from the start of the fault phase; '
               "times in force count from the start of the run, like the chart.</div>")

    out.append("<h2>Traffic by model</h2>")
    if m is not None:
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
        "scenario sha256": r.scenario.sha256 + (f" ({r.scenario.file} in this directory)"
                                                if r.scenario.file else ""),
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


def _effect_text(effect: Any) -> str:
    """The fault's observed effect; with the verified/expected/observed fields when present."""
    if effect is None:
        return ""
    parts = [effect.summary]
    verified = getattr(effect, "verified", None)
    expected = getattr(effect, "expected", None)
    observed = getattr(effect, "observed", None)
    if verified is not None and (expected or observed):
        parts.append(f"{'verified' if verified else 'NOT verified'}: expected {expected or 'n/a'}; "
                     f"observed {observed or 'n/a'}")
    return " — ".join(p for p in parts if p)


def _evidence_html(view: ReportView) -> str:
    """What an auditor checks first: who signed, and the digests the claim rests on."""
    r = view.report
    rows: list[tuple[str, str]] = []
    s = view.signing
    if s is None:
        signer = '<span class="fail">not signed</span>'
    elif s.mode == "keyless":
        signer = (f'<span class="tag keyless">keyless identity</span> <code>{_e(s.identity)}</code> '
                  f"(issuer <code>{_e(s.issuer)}</code>)")
    else:
        kind = signer_kind(s)
        cls = "ephemeral" if s.ephemeral else "key"
        signer = (f'<span class="tag {cls}">{_e(kind)}</span> key id <code>{_e(s.key_id)}</code>'
                  + (" — integrity, not origin: pin this id (<code>--expect-key-id</code>) from "
                     "the run's own log" if s.ephemeral else ""))
    rows.append(("signed by", signer))
    files = "".join(f"<li><code>{_e(f)}</code></li>" for f in r.policy.files)
    rows.append(("policy bundle sha256", f"<code>{_e(r.policy.sha256 or 'n/a')}</code>"
                 + (f'<details><summary>{len(r.policy.files)} files</summary><ul>{files}</ul></details>'
                    if r.policy.files else " (no file list)")))
    rows.append(("gateway config sha256", f"<code>{_e(r.gateway.config_sha256 or 'n/a')}</code>"
                 + (" (<code>gateway-config.yaml</code> in this directory)" if r.gateway.config_sha256 else "")))
    rows.append(("scenario sha256", f"<code>{_e(r.scenario.sha256)}</code>"
                 + (f" (<code>{_e(r.scenario.file)}</code> in this directory)" if r.scenario.file else "")))
    rows.append(("seed", f"<code>{r.seed}</code>"))
    rows.append(("run id", f"<code>{_e(r.run_id)}</code>"))
    rows.append(("govchaos version", _e(r.environment.govchaos_version)))
    pv = r.provenance
    for label, info in (("policy bundle in git", pv.policy_bundle), ("scenario in git", pv.scenario)):
        if info is not None:
            dirty = ("" if info.dirty is None else
                     ' <span class="fail">(uncommitted changes)</span>' if info.dirty else " (clean)")
            rows.append((label, f"<code>{_e(info.path)}</code> at <code>{_e(info.commit or 'no commit')}</code>{dirty}"))
    if pv.ci is not None:
        ci = pv.ci
        bits = [f"{_e(ci.provider)}"] + [f"{k} <code>{_e(v)}</code>" for k, v in (
            ("run", ci.run_url), ("job", ci.job_url), ("repository", ci.repository),
            ("commit", ci.commit), ("ref", ci.ref)) if v]
        rows.append(("CI run", ", ".join(bits)))
    else:
        rows.append(("CI run", '<span class="muted">not made in CI (no CI environment)</span>'))
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<section class="evidence" id="evidence"><h2>Evidence</h2>'
            f'<table class="kv"><tbody>{body}</tbody></table></section>')


def _timeline_table(view: ReportView) -> str:
    rows = [[f"{mk.t_s:.2f} s", {"gpu": "GPU health", "stop": "stop condition", "fault": "fault",
                                 "harness": "harness", "phase": "phase"}.get(mk.kind, mk.kind),
             mk.label, mk.detail] for mk in view.marks]
    return _table(["time", "kind", "event", "detail"], rows, nowrap=(0, 1))


def _upstreams_html(view: ReportView) -> str:
    ups = view.report.upstreams
    if not ups:
        return '<p class="muted">This report does not record its upstreams.</p>'
    rows = [[u.name, u.model, u.provider or "n/a", u.hosting or "n/a", u.region or "n/a",
             u.jurisdiction or "n/a", "none" if u.gpu_device is None else f"GPU {u.gpu_device}",
             "policy catalog" if u.source == "catalog" else "scenario (not in the catalog)"]
            for u in ups]
    return _table(["upstream", "model", "provider", "hosting", "region", "jurisdiction", "GPU",
                   "attributes from"], rows)


def _matrix_html(view: ReportView) -> str:
    mx = view.report.data_class_matrix
    if mx is None:
        return '<p class="muted">This report has no model × data-class matrix.</p>'
    cells = {(c.model, c.data_class): c for c in mx.cells}
    hosting = {u.model: u.hosting for u in view.report.upstreams}
    head = "".join(f"<th>{_e(c)}</th>" for c in mx.data_classes)
    body = []
    for model in mx.models:
        tds = []
        for data_class in mx.data_classes:
            cell = cells.get((model, data_class))
            if cell is None:
                tds.append('<td class="muted">—</td>')
                continue
            if cell.policy == "forbidden":
                cls = "violation" if cell.received else "forbidden"
                label = f"{cell.received} · FORBIDDEN" + (" — VIOLATION" if cell.received else "")
            else:
                cls = cell.policy
                label = f"{cell.received}" + (" · allowed for some requests" if cell.policy == "mixed" else "")
            tds.append(f'<td class="num {cls}" title="{_e(cell.policy)}">{_e(label)}</td>')
        extra = mx.unattributed.get(model)
        tds.append(f'<td class="num">{extra or 0}</td>')
        body.append(f"<tr><th>{_e(model)} <span class=\"muted\">({_e(hosting.get(model) or '?')})</span></th>"
                    f"{''.join(tds)}</tr>")
    return (f"<table><thead><tr><th>model (hosting)</th>{head}<th>unattributed</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            '<div class="muted">Each cell: requests carrying that data class that the model '
            "actually received, from the upstreams' own request logs. Hatched FORBIDDEN: the "
            "policy denied that model for every request of the run carrying that class (a number "
            "above 0 there is a violation, shown red); “allowed for some”: allowed for some "
            "request shapes, not others.</div>")


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
